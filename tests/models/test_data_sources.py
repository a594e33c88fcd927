"""Data that does not fit in one array, and Keras' sample_weight / class_weight / validation_freq."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import rnnkit
from rnnkit.data import BucketBatchSampler, pad_collate, pad_sequences
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential


def model_for(seed=0, units=4, features=2, out=1, activation=None, loss="mse", metrics=None):
    rnnkit.set_seed(seed)
    model = Sequential([LSTM(units, input_shape=(None, features)), Dense(out, activation=activation)])
    model.compile(optimizer="adam", loss=loss, metrics=metrics, learning_rate=0.01)
    return model


def arrays(n=24, T=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, 2)).astype(np.float32)
    return x, x[:, :, 0].sum(axis=1, keepdims=True).astype(np.float32)


# --- sample_weight and class_weight ------------------------------------------------------------------

def test_sample_weight_follows_keras_sum_over_batch_size():
    model = model_for()
    x, y = arrays(6)
    w = np.array([0.0, 1.0, 2.0, 0.5, 0.0, 3.0], dtype=np.float32)
    per_sample = ((model.predict(x) - y) ** 2).mean(axis=1)
    weighted = model.evaluate(x, y, sample_weight=w, batch_size=6)
    assert weighted == pytest.approx(float((w * per_sample).sum() / 6), rel=1e-5)  # divided by N, not sum(w)
    assert model.evaluate(x, y, sample_weight=np.ones(6), batch_size=6) == pytest.approx(model.evaluate(x, y, batch_size=6))


def test_zero_weights_drop_samples_from_training():
    """sum_i w_i l_i / N: six samples of weight 1 among twelve (the rest 0, on garbage targets) give the loss,
    hence the updates, of those six alone with weight 1/2."""
    x, y = arrays(12)
    y_noisy = y.copy()
    y_noisy[6:] = 1000.0
    a, b = model_for(seed=3), model_for(seed=3)
    a.fit(x, y_noisy, sample_weight=np.r_[np.ones(6), np.zeros(6)], epochs=3, batch_size=12, shuffle=False,
          verbose=0, seed=0)
    b.fit(x[:6], y[:6], sample_weight=np.full(6, 0.5), epochs=3, batch_size=6, shuffle=False, verbose=0, seed=0)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_class_weight_equals_the_sample_weights_it_implies():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=20)
    cw = {0: 1.0, 1: 4.0, 2: 0.5}
    a = model_for(seed=1, out=3, activation="softmax", loss="sparse_categorical_crossentropy")
    b = model_for(seed=1, out=3, activation="softmax", loss="sparse_categorical_crossentropy")
    ha = a.fit(x, y, class_weight=cw, epochs=2, batch_size=5, verbose=0, seed=2)
    hb = b.fit(x, y, sample_weight=np.array([cw[k] for k in y], np.float32), epochs=2, batch_size=5, verbose=0, seed=2)
    assert ha.history == hb.history


def test_weight_errors_name_the_argument():
    model = model_for()
    x, y = arrays(4)
    with pytest.raises(ValueError, match=r"fit: sample_weight must have shape \(4,\)"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        model.fit(x, y, sample_weight=-np.ones(4), verbose=0)
    clf = model_for(out=2, activation="softmax", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"class_weight has no weight for class\(es\) \[1\]"):
        clf.fit(x, np.array([0, 1, 0, 1]), class_weight={0: 1.0}, verbose=0)


def test_validation_freq():
    model = model_for()
    x, y = arrays(20)
    history = model.fit(x, y, epochs=4, validation_split=0.25, validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    history = model_for().fit(x, y, epochs=4, validation_split=0.25, validation_freq=[1, 4], verbose=0)
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(TypeError, match="validation_freq must be an int"):
        model.fit(x, y, epochs=1, validation_split=0.25, validation_freq="2", verbose=0)


# --- streams -------------------------------------------------------------------------------------------

def test_a_dataloader_gives_the_history_of_the_same_arrays():
    x, y = arrays(24)
    by_arrays = model_for(seed=4).fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, seed=0)
    loader = DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=8)
    by_loader = model_for(seed=4).fit(loader, epochs=3, verbose=0, seed=0)
    for key in ("loss",):
        np.testing.assert_allclose(by_loader.history[key], by_arrays.history[key], rtol=1e-6)


def test_a_torch_dataset_is_batched_and_shuffled_per_epoch_reproducibly():
    x, y = arrays(30)
    dataset = TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    h1 = model_for(seed=2).fit(dataset, epochs=3, batch_size=7, verbose=0, seed=5).history
    h2 = model_for(seed=2).fit(dataset, epochs=3, batch_size=7, verbose=0, seed=5).history
    h3 = model_for(seed=2).fit(dataset, epochs=3, batch_size=7, verbose=0, seed=6).history
    assert h1 == h2 and h1 != h3


class Streamed(torch.utils.data.Dataset):
    """Variable-length sequences read "from disk" one at a time (here: made from an index)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        T = 2 + i % 5
        x = torch.randn(T, 2, generator=g)
        return x, x[:, 0].sum(dim=0, keepdim=True)


@pytest.mark.slow
def test_dataloader_workers_are_reproducible():
    def run(seed):
        loader = DataLoader(Streamed(24), batch_size=6, shuffle=True, num_workers=2, collate_fn=pad_collate)
        return model_for(seed=0).fit(loader, epochs=2, verbose=0, seed=seed).history

    assert run(1) == run(1)


def test_variable_length_streams_are_padded_with_lengths():
    dataset = Streamed(12)
    model = model_for()
    model.fit(dataset, epochs=1, batch_size=4, verbose=0)
    batch = pad_collate([dataset[i] for i in range(3)])
    assert batch.lengths.tolist() == [2, 3, 4] and batch.x.shape == (3, 4, 2)
    together = model.predict(DataLoader(dataset, batch_size=4, collate_fn=pad_collate))
    alone = np.concatenate([model.predict(dataset[i][0][None].numpy()) for i in range(12)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_a_generator_needs_steps_per_epoch_and_is_shared_across_epochs():
    x, y = arrays(24)

    def forever():
        while True:
            for i in range(0, 24, 6):
                yield x[i:i + 6], y[i:i + 6]

    model = model_for()
    with pytest.raises(ValueError, match="pass steps_per_epoch="):
        model.fit(forever(), epochs=1, verbose=0)
    history = model.fit(forever(), epochs=3, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 3
    finite = ((x[i:i + 6], y[i:i + 6]) for i in range(0, 24, 6))
    history = model_for().fit(finite, epochs=3, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 1 and "ran out" in history.stop_reason


class Counting(IterableDataset):
    def __iter__(self):
        for i in range(10):
            x = torch.full((3, 2), float(i) / 10)
            yield x, x.sum(dim=(0, 1), keepdim=True)[0]


def test_an_iterable_dataset_streams_in_order():
    model = model_for()
    history = model.fit(Counting(), epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(Counting(), batch_size=4).shape == (10, 1)
    assert np.isfinite(model.evaluate(Counting(), batch_size=5))


def test_stream_errors_are_clear():
    x, y = arrays(8)
    loader = DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=4)
    model = model_for()
    with pytest.raises(ValueError, match="y and sample_weight come from its items"):
        model.fit(loader, y, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(loader, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch is for generators"):
        model.fit(x, y, steps_per_epoch=2, verbose=0)
    nan = torch.as_tensor(x).clone()
    nan[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="batch 1: x contains NaN"):
        model.fit(DataLoader(TensorDataset(nan, torch.as_tensor(y)), batch_size=4), verbose=0)


# --- padding and bucketing ---------------------------------------------------------------------------

def test_pad_sequences_like_keras_with_lengths():
    padded, lengths = pad_sequences([[1, 2, 3], [4], [5, 6]])
    assert padded.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]] and lengths.tolist() == [3, 1, 2]
    padded, lengths = pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="pre", truncating="pre", value=-1)
    assert padded.tolist() == [[2, 3], [-1, 4]] and lengths.tolist() == [2, 1]
    with pytest.raises(ValueError, match="padding and truncating must be 'pre' or 'post'"):
        pad_sequences([[1]], padding="left")


def test_bucketing_uses_every_index_once_and_groups_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=103)
    sampler = BucketBatchSampler(lengths, batch_size=8, seed=0)
    epoch1, epoch2 = list(sampler), list(sampler)
    for batches in (epoch1, epoch2):
        flat = sorted(i for b in batches for i in b)
        assert flat == list(range(103)) and len(batches) == len(sampler) == 13
    assert epoch1 != epoch2  # reshuffled each epoch
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in epoch1])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(103)[:8]]) for _ in range(50)])
    assert spread < 0.2 * random_spread
    assert list(BucketBatchSampler(lengths, batch_size=8, seed=0)) == epoch1  # the seed fixes the order
