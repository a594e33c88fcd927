"""rnnkit.export.to_onnx: files checked in onnxruntime against eager mode on unseen (B, T) and padded batches,
the traced scan against the per-step loop, and the errors for what cannot be exported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.nn as rn
from rnnkit import layers as L
from rnnkit.cells.loop import run_steps
from rnnkit.cells.scan import scan_steps
from rnnkit.cells.steps import gru_step, lstm_step

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
from rnnkit.export import to_onnx  # noqa: E402

pytestmark = pytest.mark.slow   # each export traces and converts a graph (~10 s)


def _session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _bound(eager, exact):
    """1e-5 + 2 × eager float32's own error against float64 (see rnnkit.export.onnx.check_onnx)."""
    return 1e-5 + 2 * max(float((e.double() - w).abs().max()) for e, w in zip(eager, exact))


def _outputs(layer, x, lengths):
    output, state = layer(x, lengths=lengths)
    return (output, *(state if isinstance(state, tuple) else (state,)))


@pytest.mark.parametrize("cls, batch_first", [(rn.RNN, True), (rn.LSTM, False), (rn.GRU, True),
                                              (rn.LayerNormLSTM, True), (rn.LayerNormGRU, False),
                                              (rn.GRUResetBefore, True)])
def test_layer_matches_eager_on_unseen_shapes_and_padded_batches(tmp_path, cls, batch_first):
    torch.manual_seed(0)
    layer = cls(3, 16, num_layers=2, bidirectional=True, batch_first=batch_first)
    result = to_onnx(layer, tmp_path / "layer.onnx")
    assert layer.training                                  # left in the mode it had
    assert result.inputs == ("x", "lengths")
    assert result.outputs == (("output", "h_n", "c_n") if cls.state_count == 2 else ("output", "h_n"))
    assert result.max_abs_error <= result.bound
    layer.eval()
    wide = cls(3, 16, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=torch.float64).eval()
    wide.load_state_dict({k: v.double() for k, v in layer.state_dict().items()})
    session = _session(result.path)
    for B, T in [(2, 4), (5, 17), (9, 40)]:                # none of them the traced (2, 5)
        shape = (B, T, 3) if batch_first else (T, B, 3)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(B))
        lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(T))
        lengths[-1] = T
        with torch.no_grad():
            eager = _outputs(layer, x, lengths)
            exact = _outputs(wide, x.double(), lengths)
        got = session.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})
        assert len(got) == len(eager)
        bound = _bound(eager, exact)
        for e, g in zip(eager, got):
            assert g.shape == tuple(e.shape)
            np.testing.assert_allclose(g, e.numpy(), rtol=0, atol=bound)


def test_layer_norm_bound_is_at_most_float32s_own_error(tmp_path):
    """The widened bound is float32's own error on an ill-conditioned recurrence, not slack for the exporter:
    onnxruntime is as close to float64 as eager float32 is."""
    torch.manual_seed(0)
    layer = rn.LayerNormLSTM(3, 16, num_layers=2, bidirectional=True, batch_first=True).eval()
    wide = rn.LayerNormLSTM(3, 16, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64).eval()
    wide.load_state_dict({k: v.double() for k, v in layer.state_dict().items()})
    result = to_onnx(layer, tmp_path / "ln.onnx", check=False)
    assert result.max_abs_error is None
    x = torch.randn(7, 29, 3, generator=torch.Generator().manual_seed(1))
    lengths = torch.full((7,), 29)
    with torch.no_grad():
        eager, exact = layer(x, lengths=lengths)[0], wide(x.double(), lengths=lengths)[0]
    got = _session(result.path).run(None, {"x": x.numpy(), "lengths": lengths.numpy()})[0]
    onnx_error = float(np.abs(got - exact.numpy()).max())
    eager_error = float((eager.double() - exact).abs().max())
    assert onnx_error <= 2 * eager_error + 1e-6


def _fitted(model, x, y, loss):
    model.compile(loss=loss, optimizer="adam")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=0)
    return model


def test_sequential_classifier_with_masking_and_variable_lengths(tmp_path):
    rnnkit.set_seed(0)
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(rng.integers(3, 12), 2)).astype("float32") for _ in range(24)]
    model = _fitted(rnnkit.Sequential([L.Masking(), L.Bidirectional(L.GRU(8, return_sequences=True)),
                                       L.GlobalAveragePooling1D(), L.Dense(3, activation="softmax")]),
                    sequences, rng.integers(0, 3, 24), "sparse_categorical_crossentropy")
    result = to_onnx(model, tmp_path / "classifier.onnx", metadata={"task": "classify"})
    assert result.inputs == ("x", "lengths") and result.outputs == ("y",)
    assert result.max_abs_error <= 1e-5 + 1e-6
    import onnx

    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert props["rnnkit.task"] == "classify" and props["rnnkit.producer"] == "rnnkit"
    # the padded batch predict() builds gives what predict() gives
    padded = np.zeros((len(sequences), 11, 2), dtype="float32")
    for i, s in enumerate(sequences):
        padded[i, :len(s)] = s
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    got = _session(result.path).run(None, {"x": padded, "lengths": lengths})[0]
    np.testing.assert_allclose(got, model.predict(sequences), rtol=0, atol=1e-5)


def test_token_model_takes_lengths_from_mask_zero(tmp_path):
    rnnkit.set_seed(0)
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 50, (24, 9))
    for i in range(24):
        ids[i, rng.integers(2, 10):] = 0                   # post-padding
    model = _fitted(rnnkit.Sequential([L.Embedding(50, 8, mask_zero=True), L.LSTM(8), L.Dense(1)]), ids,
                    rng.normal(size=(24, 1)).astype("float32"), "mse")
    result = to_onnx(model, tmp_path / "tokens.onnx", lengths=False, check=False)
    assert result.inputs == ("x",)
    got = _session(result.path).run(None, {"x": ids.astype(np.int64)})[0]
    np.testing.assert_allclose(got, model.predict(ids), rtol=0, atol=1e-5)


def test_scan_form_equals_the_step_loop():
    """The traced scan (the exported recurrence) computes what run_steps computes, with lengths and zoneout."""
    torch.manual_seed(0)
    T, B, I, H = 6, 3, 2, 4
    x = torch.randn(T, B, I, dtype=torch.float64)
    mask = (torch.arange(T).unsqueeze(1) < torch.tensor([6, 2, 4])).double()
    for step, count, G in [(lstm_step, 2, 4 * H), (gru_step, 1, 3 * H)]:
        weights = (torch.randn(G, I, dtype=torch.float64), torch.randn(G, H, dtype=torch.float64),
                   torch.randn(G, dtype=torch.float64), torch.randn(G, dtype=torch.float64))
        state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in range(count))
        keeps = tuple(torch.rand(T, B, H, dtype=torch.float64) for _ in range(count))
        for reverse in (False, True):
            for zoneout in (None, keeps):
                y_ref, s_ref = run_steps(step, x, state, weights, mask, reverse, zoneout=zoneout)
                y, s = scan_steps(step, x, state, weights, mask, reverse, zoneout=zoneout)
                torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-12)
                for a, b in zip(s, s_ref):
                    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_what_cannot_be_exported_says_why(tmp_path):
    with pytest.raises(TypeError, match="rnnkit.nn recurrent layer .* got Linear"):
        to_onnx(torch.nn.Linear(2, 2), tmp_path / "a.onnx")
    with pytest.raises(ValueError, match="ConvLSTM2D"):
        to_onnx(rnnkit.Sequential([L.ConvLSTM2D(2, 3, input_shape=(4, 5, 5, 1))]), tmp_path / "b.onnx")
    stateful = rnnkit.Sequential([L.LSTM(4, stateful=True, input_shape=(5, 2))])
    with pytest.raises(ValueError, match="stateful=True .* stateful=False"):
        to_onnx(stateful, tmp_path / "c.onnx")
    with pytest.raises(ValueError, match="has not been built"):
        to_onnx(rnnkit.Sequential([L.LSTM(4), L.Dense(1)]), tmp_path / "d.onnx")
    with pytest.raises(TypeError, match="float32 .* model.float"):
        to_onnx(rn.GRU(2, 3, dtype=torch.float64), tmp_path / "e.onnx")
    assert not any(tmp_path.iterdir())                      # nothing written on refusal
