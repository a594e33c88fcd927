"""rnnkit.explain: gate values equal the layers' real outputs and satisfy the cell equations (float64, 1e-12);
integrated gradients are exact for a linear model and their completeness gap falls as 1/m² (trapezoid rule);
plots and the HTML report are written; bad arguments are errors that name them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit import nn as rnn
from rnnkit.cells.steps import LAYER_NORM_EPS
from rnnkit.explain import (explain_model, gate_activations, integrated_gradients, lag_importance, plot_attributions,
                            plot_gates, saliency, write_report, ReportSection)
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Flatten
from rnnkit.models import Model, Sequential

torch.set_num_threads(1)
B, T, I, H = 3, 6, 3, 4
LENGTHS = torch.tensor([6, 4, 2])


def _x(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


class Net(Model):
    """A recurrent layer and a Dense head; float64 (Sequential casts float inputs to float32)."""

    def __init__(self, outputs=3, sequences=False, cell=LSTM):
        super().__init__()
        self.rnn = cell(H, return_sequences=sequences)
        self.out = Dense(outputs)

    def call(self, inputs, training=False, lengths=None):
        return self.out(self.rnn(inputs, lengths=lengths))


def _net(seed=0, **kwargs):
    torch.manual_seed(seed)
    net = Net(**kwargs)
    net.build_from_data(_x(1, T, I).float())
    return net.double().eval()


# -- gates ------------------------------------------------------------------------------------------------
CELLS = [rnn.LSTM, rnn.GRU, rnn.RNN, rnn.LayerNormLSTM, rnn.LayerNormGRU]


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("zoneout", [0.0, 0.3])
def test_h_is_the_layer_output_with_nan_padding(cls, zoneout):
    torch.manual_seed(0)
    layer = cls(I, H, num_layers=2, bidirectional=True, batch_first=True, zoneout=zoneout, dtype=torch.float64).eval()
    x = _x(B, T, I)
    acts = gate_activations(layer, x, lengths=LENGTHS)
    assert list(acts) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    y, _ = layer(x, lengths=LENGTHS)                                  # the real (kernel) forward, (B, T, 2H)
    h = np.concatenate([acts["l1"]["h"], acts["l1_reverse"]["h"]], axis=2)
    real = (torch.arange(T)[None, :] < LENGTHS[:, None]).numpy()      # (B, T)
    np.testing.assert_allclose(h[real], y.detach().numpy()[real], rtol=0, atol=1e-12)
    for gates in acts.values():
        for a in gates.values():
            assert a.shape == (B, T, H) and a.dtype == np.float64
            assert np.isnan(a[~real]).all() and np.isfinite(a[real]).all()


def _forward_direction(cls, lengths=None):
    torch.manual_seed(1)
    layer = cls(I, H, batch_first=True, dtype=torch.float64)
    x = _x(B, T, I, seed=2)
    return layer, x, gate_activations(layer, x, lengths=lengths)["l0"]


@pytest.mark.parametrize("cls", [rnn.LSTM, rnn.LayerNormLSTM])
def test_lstm_gate_equations(cls):
    layer, _, a = _forward_direction(cls)
    assert list(a) == ["i", "f", "g", "o", "c", "h"]
    c_prev = np.zeros((B, H))
    for t in range(T):
        i, f, g, o, c = (a[k][:, t] for k in "ifgoc")
        np.testing.assert_allclose(c, f * c_prev + i * g, rtol=0, atol=1e-12)   # c_t = f c_{t-1} + i g
        c_t = torch.from_numpy(c)
        if cls is rnn.LayerNormLSTM:                                   # h_t = o tanh(LN(c_t))
            c_t = F.layer_norm(c_t, (H,), layer.weight_ln_c_l0, layer.bias_ln_c_l0, LAYER_NORM_EPS)
        np.testing.assert_allclose(a["h"][:, t], o * np.tanh(c_t.detach().numpy()), rtol=0, atol=1e-12)
        c_prev = c
    for k in "ifo":
        assert ((a[k] > 0) & (a[k] < 1)).all()


def test_gru_gate_equations():
    layer, x, a = _forward_direction(rnn.GRU)
    assert list(a) == ["r", "z", "n", "h"]
    W_in, W_hn = layer.weight_ih_l0.detach()[2 * H:], layer.weight_hh_l0.detach()[2 * H:]
    b_in, b_hn = layer.bias_ih_l0.detach()[2 * H:], layer.bias_hh_l0.detach()[2 * H:]
    h_prev = torch.zeros(B, H, dtype=torch.float64)
    for t in range(T):
        r, z, n, h = (torch.from_numpy(a[k][:, t]) for k in "rznh")
        n_ref = torch.tanh(F.linear(x[:, t], W_in, b_in) + r * F.linear(h_prev, W_hn, b_hn))
        torch.testing.assert_close(n, n_ref, rtol=0, atol=1e-12)
        torch.testing.assert_close(h, (1 - z) * n + z * h_prev, rtol=0, atol=1e-12)   # h_t = (1-z) n + z h_{t-1}
        h_prev = h


def test_gates_inside_keras_models_are_named_and_match_the_cores():
    torch.manual_seed(0)
    model = Sequential([Bidirectional(GRU(3, return_sequences=True), input_shape=(T, I)), LSTM(2), Dense(1)])
    outputs = {}
    for name, core in (("bidirectional", model.layers[0].layer.core), ("lstm", model.layers[1].core)):
        core.register_forward_hook(lambda m, args, out, name=name: outputs.__setitem__(name, out[0]))
    x = _x(B, T, I, dtype=torch.float32)
    acts = gate_activations(model, x, lengths=LENGTHS)
    assert list(acts) == ["bidirectional:l0", "bidirectional:l0_reverse", "lstm:l0"]
    real = (torch.arange(T)[None, :] < LENGTHS[:, None]).numpy()
    h = np.concatenate([acts["bidirectional:l0"]["h"], acts["bidirectional:l0_reverse"]["h"]], axis=2)
    np.testing.assert_allclose(h[real], outputs["bidirectional"].detach().numpy()[real], atol=1e-5)
    # float32: the reference step and the kernel round differently, a few roundings (ε = 6e-8) per step on
    # values of size < 1, compounded over T = 6 steps: ~1e-6 at most; 1e-5 leaves room
    np.testing.assert_allclose(acts["lstm:l0"]["h"][real], outputs["lstm"].detach().numpy()[real], atol=1e-5)
    assert model.training                                             # modes restored


def test_gates_of_a_float64_model_equal_its_layer_output():
    net = _net(sequences=True)
    seen = {}
    net.rnn.core.register_forward_hook(lambda m, args, out: seen.__setitem__("y", out[0]))
    x = _x(B, T, I)
    acts = gate_activations(net, x, lengths=LENGTHS)
    real = (torch.arange(T)[None, :] < LENGTHS[:, None]).numpy()
    np.testing.assert_allclose(acts["rnn:l0"]["h"][real], seen["y"].detach().numpy()[real], rtol=0, atol=1e-12)


# -- attributions -----------------------------------------------------------------------------------------
def test_integrated_gradients_are_exact_for_a_linear_model():
    torch.manual_seed(0)
    model = Sequential([Flatten(input_shape=(T, I)), Dense(1)])
    x = _x(B, T, I, dtype=torch.float32)
    a = integrated_gradients(model, x, steps=1)
    w = model.layers[1].linear.weight.detach().numpy().reshape(T, I)  # F(x) = w · vec(x) + b
    np.testing.assert_allclose(a.scores, x.numpy() * w, rtol=1e-6, atol=1e-6)   # IG = (x - 0) ⊙ w, float32
    assert np.abs(a.completeness_gap).max() < 1e-5                    # float32 sums of 18 terms


def test_completeness_gap_falls_as_one_over_m_squared():
    net = _net()
    x = _x(B, T, I, seed=3)
    coarse = integrated_gradients(net, x, steps=32, lengths=LENGTHS)
    fine = integrated_gradients(net, x, steps=256, lengths=LENGTHS)
    assert coarse.scores.shape == (B, T, I)
    # trapezoid: ε_m ≈ C / m², so ε_256 ≈ ε_32 / 64; allow a factor 2 for the higher-order terms
    assert (np.abs(fine.completeness_gap) <= np.abs(coarse.completeness_gap) / 32 + 1e-12).all()
    assert np.abs(fine.completeness_gap).max() < 1e-3 * np.abs(fine.output - fine.baseline_output).max()
    np.testing.assert_array_equal(coarse.target, net(x, lengths=LENGTHS).argmax(dim=1).numpy())
    assert (coarse.scores[1, 4:] == 0).all() and (coarse.scores[2, 2:] == 0).all()   # padded steps


def test_saliency_is_the_input_gradient():
    net = _net()
    x = _x(B, T, I, seed=4).requires_grad_(True)
    s = saliency(net, x.detach(), target=1)
    net(x)[:, 1].sum().backward()
    np.testing.assert_allclose(s, x.grad.abs().sum(dim=2).numpy(), rtol=0, atol=1e-12)


def test_sequence_outputs_are_attributed_at_the_last_real_step():
    net = _net(outputs=2, sequences=True)
    x = _x(B, T, I, seed=5)
    a = integrated_gradients(net, x, steps=8, target=1, lengths=LENGTHS)
    y = net(x, lengths=LENGTHS).detach()
    np.testing.assert_allclose(a.output, y[torch.arange(B), LENGTHS - 1, 1].numpy(), rtol=0, atol=1e-12)
    b = integrated_gradients(net, x, steps=8, target=(0, 0), lengths=LENGTHS)
    np.testing.assert_allclose(b.output, y[:, 0, 0].numpy(), rtol=0, atol=1e-12)


def _token_model():
    torch.manual_seed(0)
    return Sequential([Embedding(12, 5), GRU(H), Dense(2)]).double()


def test_token_ids_get_one_score_per_token():
    model = _token_model()
    ids = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    a = integrated_gradients(model, ids, steps=64, lengths=torch.tensor([4, 2]))
    assert a.scores.shape == (2, 4)
    assert np.abs(a.completeness_gap).max() <= 1e-3 * np.abs(a.output - a.baseline_output).max() + 1e-12
    assert saliency(model, ids, lengths=torch.tensor([4, 2])).shape == (2, 4)


def test_lag_importance_counts_lags_from_each_sequence_end():
    net = _net()
    x = _x(B, T, I, seed=6)
    lags = lag_importance(net, x, steps=4, lengths=LENGTHS)
    ig = np.abs(integrated_gradients(net, x, steps=4, lengths=LENGTHS).scores)
    assert lags.per_lag.shape == (T,) and lags.per_feature.shape == (I,)
    last = np.mean([ig[b, int(L) - 1].mean() for b, L in enumerate(LENGTHS)])
    np.testing.assert_allclose(lags.per_lag[0], last, rtol=1e-12)
    np.testing.assert_allclose(lags.per_lag[5], ig[0, 0].mean(), rtol=1e-12)   # only sequence 0 is 6 long


# -- errors -----------------------------------------------------------------------------------------------
def test_errors_name_the_argument():
    net = _net()
    x = _x(B, T, I)
    with pytest.raises(ValueError, match="no recurrent layer"):
        gate_activations(Sequential([Flatten(input_shape=(T, I)), Dense(1)]), x.float())
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, I\)"):
        saliency(net, x[0])
    with pytest.raises(TypeError, match="no Embedding"):
        saliency(net, x.long())
    with pytest.raises(TypeError, match="dtype torch.float32 but the model's weights are torch.float64"):
        saliency(net, x.float())
    bad = x.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        integrated_gradients(net, bad)
    with pytest.raises(ValueError, match=r"target must be an output index in \[0, 3\)"):
        integrated_gradients(net, x, target=3)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        integrated_gradients(net, x, steps=0)
    with pytest.raises(TypeError, match="steps must be an int"):
        integrated_gradients(net, x, steps=2.5)
    with pytest.raises(ValueError, match="baseline must broadcast"):
        integrated_gradients(net, x, baseline=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="NaN"):
        gate_activations(rnn.GRU(I, H, dtype=torch.float64), bad.transpose(0, 1))
    with pytest.raises(TypeError, match="float features"):
        lag_importance(_token_model(), torch.tensor([[1, 2]]))


# -- plots and report -------------------------------------------------------------------------------------
def test_plots_and_an_escaped_report(tmp_path):
    net = _net()
    x = _x(B, T, I)
    acts = gate_activations(net, x, lengths=LENGTHS)
    gates = plot_gates(tmp_path / "g.png", acts, sample=1)
    scores = plot_attributions(tmp_path / "s.png", saliency(net, x), tokens=list("abcdef"))
    for path in (gates, scores):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = write_report(tmp_path, [ReportSection(title="<b>gates</b>", image=gates, table=[("a<", 1.5)]),
                                   {"title": "s", "image": "s.png", "text": "x & y"}]).read_text(encoding="utf-8")
    assert "&lt;b&gt;gates&lt;/b&gt;" in html and "<b>" not in html and "x &amp; y" in html
    assert 'src="g.png"' in html and 'src="s.png"' in html and "a&lt;" in html
    with pytest.raises(ValueError, match="sample must be in"):
        plot_gates(tmp_path / "g.png", acts, sample=B)


def test_explain_model_writes_everything(tmp_path):
    html = explain_model(_net(), _x(B, T, I).numpy(), folder=tmp_path / "run", lengths=LENGTHS)
    assert html == tmp_path / "run" / "explain.html"
    assert {p.name for p in html.parent.iterdir()} == {"explain.html", "gates.png", "saliency.png", "ig.png",
                                                       "lags.png"}
    tokens = explain_model(_token_model(), torch.tensor([[1, 2, 3]]), folder=tmp_path / "t", tokens=["a", "b", "c"])
    assert "lags.png" not in tokens.read_text(encoding="utf-8")
