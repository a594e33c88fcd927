"""Length bucketing vs random batches on variable-length sequences: epoch time and padding.

    python bench/bucketing.py            # JapaneseVowels (aeon's .ts, lengths 7-29) and a long-tailed set
                                         # (lengths 20-400, log-normal), LSTM(64), batch 32, 1 thread

Both arms train the same model (same seed) through `fit` on a DataLoader with `pad_collate`: random batches
(`shuffle=True`) against `BucketBatchSampler` (sorted by length into batches, batches shuffled). Reported:
median epoch seconds over epochs 2.., the fraction of padded steps, and the speed-up; plus the final training
loss of each arm, to show bucketing does not hurt the fit.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import rnnkit
from _epoch_times import EpochTimes  # bench/ is on sys.path when a script here runs
from rnnkit.data import BucketBatchSampler, pad_collate
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential


class Sequences(Dataset):
    def __init__(self, xs, ys):
        self.xs, self.ys = xs, ys

    def __len__(self):
        return len(self.xs)

    def __getitem__(self, i):
        return torch.as_tensor(self.xs[i]), torch.as_tensor(self.ys[i])




def long_tailed(n=1024, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean=4.3, sigma=0.7, size=n), 20, 400).astype(int)
    xs = [rng.normal(size=(t, 8)).astype(np.float32) for t in lengths]
    ys = [np.int64(int(x[:, 0].mean() > 0)) for x in xs]
    return "long-tailed (20-400)", xs, ys, 2


def vowels():
    data = rnnkit.data.load_dataset("japanese_vowels")
    return "JapaneseVowels (7-29)", data.train_sequences, list(data.train_labels), data.num_classes


def padding_fraction(lengths, batches):
    lengths = np.asarray(lengths)
    padded = sum(len(b) * lengths[b].max() for b in batches)
    return 1.0 - lengths.sum() / padded


def run(name, xs, ys, classes, *, epochs, batch_size):
    lengths = [len(x) for x in xs]
    dataset = Sequences(xs, ys)
    results = {}
    for arm in ("random", "bucketed"):
        rnnkit.set_seed(0)
        model = Sequential([LSTM(64, input_shape=(None, xs[0].shape[1])), Dense(classes, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        if arm == "random":
            loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=pad_collate)
            g = torch.Generator().manual_seed(0)
            batches = [b.tolist() for b in torch.randperm(len(xs), generator=g).split(batch_size)]
        else:
            sampler = BucketBatchSampler(lengths, batch_size=batch_size, seed=0)
            loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=pad_collate)
            batches = list(BucketBatchSampler(lengths, batch_size=batch_size, seed=0))
        timer = EpochTimes()
        history = model.fit(loader, epochs=epochs, verbose=0, seed=0, callbacks=[timer])
        results[arm] = (statistics.median(timer.times[1:]), padding_fraction(lengths, batches), history.history["loss"][-1])
    (t_r, p_r, l_r), (t_b, p_b, l_b) = results["random"], results["bucketed"]
    print(f"| {name} | {len(xs)} | {t_r:.2f} s, {100 * p_r:.0f}% padding, loss {l_r:.3f} | "
          f"{t_b:.2f} s, {100 * p_b:.0f}% padding, loss {l_b:.3f} | {t_r / t_b:.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| set | sequences | random batches | bucketed | speed-up |\n|---|---:|---|---|---:|")
    for make in (vowels, long_tailed):
        try:
            name, xs, ys, classes = make()
        except rnnkit.data.DataError as error:
            print(f"| {make.__name__} | skipped: {error} |")
            continue
        run(name, xs, ys, classes, epochs=args.epochs, batch_size=args.batch_size)


if __name__ == "__main__":
    main()
