"""rnnkit.nn.init: orthogonal gate blocks, the IRNN identity, chrono biases (bounds and their log-uniform law),
unit forget bias; the init= / chrono_max= / forget_bias= options of the rnnkit.nn layers; bad arguments."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.nn import init

U32 = 2.0 ** -24          # float32 unit roundoff
EPS64 = 2.0 ** -52
# every layer and direction: two layers, both directions
SHAPE = dict(input_size=3, hidden_size=8, num_layers=2, bidirectional=True)
SUFFIXES = ("_l0", "_l0_reverse", "_l1", "_l1_reverse")
RNN_HAS_OPTIONS = "init" in inspect.signature(rnnkit.nn.RNN).parameters


def blocks(W, H):
    return [W[k * H : (k + 1) * H] for k in range(W.shape[0] // H)]


def orthogonality_bound(H, gain, dtype):
    """|(Ŵ Ŵᵀ)_ij - gain² δ_ij| for Ŵ = fl(gain Q), Q orthogonal in float64 (QR: error ~ H eps64), the product
    taken in float64: Ŵ = gain Q + E with |E| <= u |gain Q| gives |gain Q Eᵀ + E gain Qᵀ + E Eᵀ|_ij <= gain²
    (2u + u²) by Cauchy-Schwarz (rows of Q have norm 1), u = 2^-24 for float32 and 0 for float64."""
    u = U32 if dtype == torch.float32 else 0.0
    return gain ** 2 * (2 * u + u * u + 100 * H * EPS64)


def assert_blocks_orthogonal(module, gain=1.0):
    H = module.hidden_size
    for suffix in SUFFIXES[: module.num_layers * (2 if module.bidirectional else 1)]:
        W = getattr(module, "weight_hh" + suffix).detach()
        for k, block in enumerate(blocks(W, H)):
            product = block.double() @ block.double().T                         # (H, H), in float64
            error = (product - gain ** 2 * torch.eye(H, dtype=torch.float64)).abs().max().item()
            assert error <= orthogonality_bound(H, gain, W.dtype), (suffix, k, error)


def ks_distance(samples, cdf):
    """Kolmogorov-Smirnov statistic D_n = sup |F_n - F| of the samples against the CDF ``cdf``."""
    x, _ = torch.sort(samples.double().flatten())
    n = x.numel()
    F = cdf(x)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return max((i / n - F).max().item(), (F - (i - 1) / n).max().item())


def dkw_threshold(n, alpha):
    """Dvoretzky-Kiefer-Wolfowitz-Massart: P(D_n > ε) <= 2 exp(-2 n ε²), so D_n > sqrt(log(2/α) / (2n))
    rejects the law at level α (exact, not asymptotic)."""
    return math.sqrt(math.log(2.0 / alpha) / (2 * n))


# -- orthogonal_ ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [rnnkit.nn.RNN, rnnkit.nn.LSTM, rnnkit.nn.GRU, rnnkit.nn.LayerNormLSTM,
                                 rnnkit.nn.LayerNormGRU, torch.nn.LSTM, torch.nn.GRU])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_orthogonal_makes_every_gate_block_of_every_w_hh_orthogonal(cls, dtype, generator):
    module = cls(**SHAPE, dtype=dtype)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    assert init.orthogonal_(module, generator=generator) is module
    assert_blocks_orthogonal(module)
    for name, p in module.named_parameters():
        if not name.startswith("weight_hh"):
            assert torch.equal(p, before[name]), name                          # W_ih, biases, LN left alone


def test_orthogonal_gain_and_a_fixed_generator(generator):
    a, b = rnnkit.nn.LSTM(**SHAPE), rnnkit.nn.LSTM(**SHAPE)
    init.orthogonal_(a, gain=0.5, generator=torch.Generator().manual_seed(7))
    init.orthogonal_(b, gain=0.5, generator=torch.Generator().manual_seed(7))
    assert_blocks_orthogonal(a, gain=0.5)
    assert torch.equal(a.weight_hh_l1_reverse, b.weight_hh_l1_reverse)
    i, f, g, o = blocks(a.weight_hh_l0, 8)
    assert not torch.equal(i, f)                                                # one draw per gate block


# -- identity_ --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
def test_identity_is_the_irnn(nonlinearity, generator):
    module = rnnkit.nn.RNN(input_size=64, hidden_size=64, num_layers=2, bidirectional=True, nonlinearity=nonlinearity)
    init.identity_(module, generator=generator)
    for suffix in SUFFIXES:
        assert torch.equal(getattr(module, "weight_hh" + suffix), torch.eye(64))
        assert torch.equal(getattr(module, "bias_ih" + suffix), torch.zeros(64))
        assert torch.equal(getattr(module, "bias_hh" + suffix), torch.zeros(64))
    # W_ih ~ N(0, 0.001²): the sample std of n normals is within 6 standard errors σ/sqrt(2n) of σ
    W = torch.cat([module.weight_ih_l0.flatten(), module.weight_ih_l0_reverse.flatten()]).double()
    assert abs(W.std().item() - 1e-3) <= 6 * 1e-3 / math.sqrt(2 * W.numel())
    assert abs(W.mean().item()) <= 6 * 1e-3 / math.sqrt(W.numel())


def test_identity_gain_and_input_std_none_keeps_w_ih():
    module = rnnkit.nn.RNN(3, 5, nonlinearity="relu")
    W_ih = module.weight_ih_l0.detach().clone()
    init.identity_(module, gain=0.5, input_std=None)
    assert torch.equal(module.weight_hh_l0, 0.5 * torch.eye(5))
    assert torch.equal(module.weight_ih_l0, W_ih)


def test_an_irnn_copies_its_state_at_the_start():
    """W_hh = I and no input: a ReLU RNN keeps a non-negative state exactly, step after step."""
    module = init.identity_(rnnkit.nn.RNN(2, 4, nonlinearity="relu"))
    h0 = torch.rand(1, 3, 4)
    _, h_n = module(torch.zeros(10, 3, 2), h0)
    assert torch.equal(h_n, h0)


# -- chrono_ ----------------------------------------------------------------------------------------------
T_MAX = 100


def chrono_lstm(**kwargs):
    module = rnnkit.nn.LSTM(input_size=3, hidden_size=256, num_layers=2, bidirectional=True, **kwargs)
    return module


def gate(b, k, H):
    return b[k * H : (k + 1) * H]


def test_chrono_lstm_bounds_and_b_i_is_minus_b_f(generator):
    module = chrono_lstm()
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    init.chrono_(module, T_MAX, generator=generator)
    H, top = 256, torch.tensor(math.log(T_MAX - 1), dtype=torch.float32)     # rounding to float32 is monotone
    for suffix in SUFFIXES:
        b_ih, b_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
        b_f = gate(b_ih, 1, H)
        assert b_f.min() >= 0 and b_f.max() <= top, suffix
        assert torch.equal(gate(b_ih, 0, H), -b_f)                              # b_i = -b_f, exactly
        assert torch.equal(gate(b_hh, 0, H), torch.zeros(H)) and torch.equal(gate(b_hh, 1, H), torch.zeros(H))
        for k in (2, 3):                                                        # g and o left as they were
            assert torch.equal(gate(b_ih, k, H), gate(before["bias_ih" + suffix], k, H))
            assert torch.equal(gate(b_hh, k, H), gate(before["bias_hh" + suffix], k, H))
    for name, p in module.named_parameters():
        if name.startswith("weight"):
            assert torch.equal(p, before[name]), name
    assert not torch.equal(gate(module.bias_ih_l0, 1, H), gate(module.bias_ih_l0_reverse, 1, H))  # own draws


@pytest.mark.parametrize("cls,k", [(rnnkit.nn.LSTM, 1), (rnnkit.nn.GRU, 1), (rnnkit.nn.LayerNormGRU, 1)])
def test_chrono_biases_are_log_uniform(cls, k, generator):
    """exp(b) - 1 ~ U[0, T_max - 2], i.e. b = log(U[1, T_max - 1]): a KS test at level 1e-3 with a fixed seed
    accepts it, and rejects b ~ U[0, log(T_max - 1)] (the test has the power to tell the two apart)."""
    module = cls(input_size=3, hidden_size=256, num_layers=2, bidirectional=True)
    init.chrono_(module, T_MAX, generator=generator)
    b = torch.cat([gate(getattr(module, "bias_ih" + s), k, 256) for s in SUFFIXES])   # the f (LSTM) or z (GRU) rows
    threshold = dkw_threshold(b.numel(), alpha=1e-3)
    D = ks_distance(torch.exp(b.double()) - 1, lambda x: (x / (T_MAX - 2)).clamp(0, 1))
    assert D <= threshold, (D, threshold)
    D_uniform = ks_distance(b, lambda x: (x / math.log(T_MAX - 1)).clamp(0, 1))
    assert D_uniform > 3 * threshold, (D_uniform, threshold)


def test_chrono_gru_sets_only_the_update_gate(generator):
    module = rnnkit.nn.GRU(**SHAPE)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    init.chrono_(module, 10, generator=generator)
    H, top = 8, torch.tensor(math.log(9), dtype=torch.float32)
    for suffix in SUFFIXES:
        b_ih, b_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
        b_z = gate(b_ih, 1, H)                                                  # gate order r, z, n
        assert b_z.min() >= 0 and b_z.max() <= top
        assert torch.equal(gate(b_hh, 1, H), torch.zeros(H))
        for k in (0, 2):
            assert torch.equal(gate(b_ih, k, H), gate(before["bias_ih" + suffix], k, H))
            assert torch.equal(gate(b_hh, k, H), gate(before["bias_hh" + suffix], k, H))


def test_chrono_gru_retention_time_is_one_plus_exp_b():
    """With zero weights and the z bias b, h_t = z^t h_0 with z = σ(b): the state decays by 1/e in about
    T = 1 / (1 - z) = 1 + e^b steps, the derivation in chrono_'s docstring."""
    module = rnnkit.nn.GRU(1, 1, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
        module.bias_ih_l0[1] = math.log(49.0)                                   # T = 50
        module.bias_ih_l0[2] = -1e3                                             # n = tanh(-1000) = -1: see below
    z = torch.sigmoid(torch.tensor(math.log(49.0), dtype=torch.float64))
    assert abs(1 / (1 - z.item()) - 50.0) < 1e-9
    h0 = torch.full((1, 1, 1), 3.0, dtype=torch.float64)
    _, h_n = module(torch.zeros(50, 1, 1, dtype=torch.float64), h0)
    # h_t = z h_{t-1} + (1 - z)(-1): h_t + 1 = z^t (h_0 + 1)
    torch.testing.assert_close(h_n + 1, (h0 + 1) * z ** 50)


def test_chrono_on_torch_nn_lstm(generator):
    module = init.chrono_(torch.nn.LSTM(3, 16), 20, generator=generator)
    b_f = gate(module.bias_ih_l0, 1, 16)
    assert b_f.min() >= 0 and b_f.max() <= torch.tensor(math.log(19), dtype=torch.float32)
    assert torch.equal(gate(module.bias_ih_l0, 0, 16), -b_f)


# -- unit_forget_bias_ ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.LayerNormLSTM, torch.nn.LSTM])
def test_unit_forget_bias_totals_one(cls):
    module = cls(**SHAPE)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    init.unit_forget_bias_(module)
    for suffix in SUFFIXES:
        b_ih, b_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
        assert torch.equal(gate(b_ih, 1, 8) + gate(b_hh, 1, 8), torch.ones(8))
        assert torch.equal(gate(b_ih, 1, 8), torch.ones(8)) and torch.equal(gate(b_hh, 1, 8), torch.zeros(8))
        for k in (0, 2, 3):
            assert torch.equal(gate(b_ih, k, 8), gate(before["bias_ih" + suffix], k, 8))
    init.unit_forget_bias_(module, 2.5)
    assert torch.equal(gate(module.bias_ih_l1_reverse, 1, 8), torch.full((8,), 2.5))


# -- the functions' errors --------------------------------------------------------------------------------
def test_an_initialiser_on_the_wrong_cell_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"chrono_ applies to LSTM and GRU layers; got an Elman RNN\. .*identity_"):
        init.chrono_(rnnkit.nn.RNN(2, 3), 10)
    with pytest.raises(ValueError, match=r"identity_ applies to Elman RNN layers; got an LSTM\. .*orthogonal_"):
        init.identity_(rnnkit.nn.LSTM(2, 3))
    with pytest.raises(ValueError, match=r"identity_ applies to Elman RNN layers; got a GRU"):
        init.identity_(rnnkit.nn.LayerNormGRU(2, 3))
    with pytest.raises(ValueError, match=r"unit_forget_bias_ applies to LSTM layers; got a GRU\. .*chrono_"):
        init.unit_forget_bias_(rnnkit.nn.GRU(2, 3))
    with pytest.raises(ValueError, match=r"unit_forget_bias_ applies to LSTM layers; got an Elman RNN"):
        init.unit_forget_bias_(torch.nn.RNN(2, 3))


def test_bad_modules_and_arguments():
    with pytest.raises(TypeError, match=r"orthogonal_: module must be a recurrent layer .*; got Linear"):
        init.orthogonal_(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"proj_size"):
        init.orthogonal_(torch.nn.LSTM(2, 4, proj_size=2))
    with pytest.raises(ValueError, match=r"chrono_ sets gate biases, and this layer has none \(bias=False\)"):
        init.chrono_(rnnkit.nn.LSTM(2, 3, bias=False), 10)
    with pytest.raises(ValueError, match=r"unit_forget_bias_ sets gate biases"):
        init.unit_forget_bias_(rnnkit.nn.LSTM(2, 3, bias=False))
    with pytest.raises(ValueError, match=r"chrono_: t_max .* must be >= 2; got 1"):
        init.chrono_(rnnkit.nn.LSTM(2, 3), 1)
    with pytest.raises(TypeError, match=r"chrono_: t_max .* must be an int >= 2; got float 10.0"):
        init.chrono_(rnnkit.nn.LSTM(2, 3), 10.0)
    with pytest.raises(ValueError, match=r"unit_forget_bias_: value must be finite; got nan"):
        init.unit_forget_bias_(rnnkit.nn.LSTM(2, 3), float("nan"))
    init.orthogonal_(rnnkit.nn.LSTM(2, 3, bias=False))                          # no biases needed


# -- the options of the rnnkit.nn layers ------------------------------------------------------------------
def test_default_init_is_unchanged_torch_nn_draws():
    torch.manual_seed(0)
    ours = rnnkit.nn.LSTM(**SHAPE)
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(**SHAPE)
    for (name, p), (other, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == other and torch.equal(p, q), name
    assert (ours.init, ours.chrono_max, ours.forget_bias) == ("default", None, None)
    assert "init" not in repr(ours)


@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.GRU, rnnkit.nn.LayerNormLSTM, rnnkit.nn.LayerNormGRU])
def test_init_orthogonal_option(cls):
    module = cls(**SHAPE, init="orthogonal")
    assert_blocks_orthogonal(module)
    bound = 1 / math.sqrt(8)
    assert module.weight_ih_l1.abs().max() <= bound and module.bias_hh_l0.abs().max() <= bound   # the default
    assert "init='orthogonal'" in repr(module)


@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.GRU, rnnkit.nn.LayerNormLSTM, rnnkit.nn.LayerNormGRU])
def test_chrono_max_option(cls):
    module = cls(**SHAPE, init="orthogonal", chrono_max=30)
    assert_blocks_orthogonal(module)
    top = torch.tensor(math.log(29), dtype=torch.float32)
    for suffix in SUFFIXES:
        b = gate(getattr(module, "bias_ih" + suffix), 1, 8)                     # f (LSTM) or z (GRU)
        assert b.min() >= 0 and b.max() <= top
        assert torch.equal(gate(getattr(module, "bias_hh" + suffix), 1, 8), torch.zeros(8))
        if module.gate_count == 4:
            assert torch.equal(gate(getattr(module, "bias_ih" + suffix), 0, 8), -b)
    for name, p in module.named_parameters():
        if "_ln_" in name:                                                      # LN gains 1, biases 0
            assert torch.equal(p, torch.ones_like(p) if name.startswith("weight") else torch.zeros_like(p))
    module.reset_parameters()                                                   # reset re-applies the option
    assert gate(module.bias_ih_l0, 1, 8).min() >= 0
    assert_blocks_orthogonal(module)
    assert "chrono_max=30" in repr(module)


@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.LayerNormLSTM])
def test_forget_bias_option(cls):
    module = cls(**SHAPE, forget_bias=1.0)
    for suffix in SUFFIXES:
        total = gate(getattr(module, "bias_ih" + suffix), 1, 8) + gate(getattr(module, "bias_hh" + suffix), 1, 8)
        assert torch.equal(total, torch.ones(8))
    assert module.forget_bias == 1.0 and "forget_bias=1.0" in repr(module)


@pytest.mark.skipif(not RNN_HAS_OPTIONS, reason="rnnkit.nn.RNN.__init__ (rnnkit/nn/layers.py) does not take init= yet")
def test_init_identity_option_on_rnn():
    module = rnnkit.nn.RNN(**SHAPE, nonlinearity="relu", init="identity")
    for suffix in SUFFIXES:
        assert torch.equal(getattr(module, "weight_hh" + suffix), torch.eye(8))
        assert torch.equal(getattr(module, "bias_ih" + suffix), torch.zeros(8))
    assert_blocks_orthogonal(rnnkit.nn.RNN(**SHAPE, init="orthogonal"))
    with pytest.raises(ValueError, match=r"RNN: chrono_max applies to LSTM and GRU layers; got an Elman RNN"):
        rnnkit.nn.RNN(2, 3, chrono_max=10)
    with pytest.raises(ValueError, match=r"RNN: forget_bias applies to LSTM layers; got an Elman RNN"):
        rnnkit.nn.RNN(2, 3, forget_bias=1.0)


def test_bad_options_are_errors_naming_the_argument():
    with pytest.raises(ValueError, match=r"LSTM: init must be one of 'default', 'orthogonal', 'identity'; got "
                                         r"'chrono'\. For chrono biases pass chrono_max=T_max"):
        rnnkit.nn.LSTM(2, 3, init="chrono")
    with pytest.raises(ValueError, match=r"LSTM: init='identity' \(IRNN\) applies to Elman RNN layers; got an LSTM\. "
                                         r"Use init='orthogonal' with chrono_max=T_max"):
        rnnkit.nn.LSTM(2, 3, init="identity")
    with pytest.raises(ValueError, match=r"LayerNormGRU: init='identity' \(IRNN\) applies to Elman RNN layers; "
                                         r"got a GRU"):
        rnnkit.nn.LayerNormGRU(2, 3, init="identity")
    with pytest.raises(ValueError, match=r"GRU: forget_bias applies to LSTM layers; got a GRU\. "
                                         r"For a GRU use chrono_max"):
        rnnkit.nn.GRU(2, 3, forget_bias=1.0)
    with pytest.raises(ValueError, match=r"LSTM: chrono_max \(T_max.*\) must be >= 2; got 1"):
        rnnkit.nn.LSTM(2, 3, chrono_max=1)
    with pytest.raises(TypeError, match=r"GRU: chrono_max \(T_max.*\) must be an int >= 2; got str '10'"):
        rnnkit.nn.GRU(2, 3, chrono_max="10")
    with pytest.raises(ValueError, match=r"LSTM: pass chrono_max or forget_bias, not both"):
        rnnkit.nn.LSTM(2, 3, chrono_max=10, forget_bias=1.0)
    with pytest.raises(ValueError, match=r"LSTM: chrono_max sets gate biases, and bias=False leaves the layer"):
        rnnkit.nn.LSTM(2, 3, bias=False, chrono_max=10)
    with pytest.raises(TypeError, match=r"LSTM: forget_bias must be a float; got str"):
        rnnkit.nn.LSTM(2, 3, forget_bias="1")


def test_chrono_t_max_2_is_the_degenerate_f_one_half_and_numpy_ints_are_ints():
    module = init.chrono_(rnnkit.nn.LSTM(2, 3), 2)                              # T ~ U[2, 2]: b_f = log 1 = 0
    assert torch.equal(module.bias_ih_l0[:6], torch.zeros(6))
    layer = rnnkit.nn.GRU(2, 3, chrono_max=np.int64(7), init="orthogonal")
    assert type(layer.chrono_max) is int and repr(layer) == "GRU(2, 3, init='orthogonal', chrono_max=7)"
