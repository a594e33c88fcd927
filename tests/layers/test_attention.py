"""Attention, AdditiveAttention and MultiHeadAttention: Keras 3's semantics (NumPy references), the projected
Bahdanau form, masks of any pattern, and parity with torch.nn.MultiheadAttention."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.layers import AdditiveAttention, Attention, MultiHeadAttention
from tests.layers import keras_reference as keras


def _t(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


Q, V, K = _t(2, 3, 4, seed=1), _t(2, 5, 6, seed=2), _t(2, 5, 4, seed=3)
HOLES = torch.tensor([[True, False, True, True, False], [False, True, True, False, True]])  # not prefixes


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("use_scale,score_mode", [(False, "dot"), (True, "dot"), (False, "concat"), (True, "concat")])
def test_attention_is_keras_attention(use_scale, score_mode):
    layer = Attention(use_scale=use_scale, score_mode=score_mode).double()
    layer(Q, V, K)
    layer.double()
    with torch.no_grad():
        if use_scale:
            layer.scale.fill_(0.7)
        if score_mode == "concat":
            layer.concat_score_weight.fill_(1.3)
    q_mask = torch.tensor([[True, True, False], [True, True, True]])
    y, a = layer(Q, V, K, value_mask=HOLES, query_mask=q_mask, return_attention_scores=True)
    ey, ea = keras.attention(_np(Q), _np(V), _np(K), scale=0.7 if use_scale else None, score_mode=score_mode,
                             concat_score_weight=1.3, q_mask=_np(q_mask), v_mask=_np(HOLES))
    np.testing.assert_allclose(_np(y), ey, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(a), ea, rtol=1e-10, atol=1e-12)
    assert torch.equal(a[~HOLES.unsqueeze(1).expand_as(a)], torch.zeros(int((~HOLES).sum()) * 3, dtype=a.dtype))


def test_additive_attention_is_keras_additive_attention():
    q, v = _t(2, 3, 4, seed=4), _t(2, 5, 4, seed=5)
    layer = AdditiveAttention()
    layer(q.float(), v.float())
    layer.double()
    limit = (6 / 8) ** 0.5                                            # glorot on shape (4,): fans (4, 4)
    assert 0 < layer.scale.abs().max() <= limit
    y, a = layer(q, v, use_causal_mask=True, value_lengths=torch.tensor([5, 2]), return_attention_scores=True)
    v_mask = np.arange(5)[None] < np.array([5, 2])[:, None]
    ey, ea = keras.additive_attention(_np(q), _np(v), scale=_np(layer.scale), v_mask=v_mask, causal=True)
    np.testing.assert_allclose(_np(y), ey, rtol=1e-10)
    np.testing.assert_allclose(_np(a), ea, rtol=1e-10)
    plain = AdditiveAttention(use_scale=False)
    np.testing.assert_allclose(_np(plain(q, v)), keras.additive_attention(_np(q), _np(v))[0], rtol=1e-10)


def test_projected_bahdanau_scores_are_v_tanh_of_projected_query_plus_key():
    torch.manual_seed(0)
    layer = AdditiveAttention(units=7)
    layer(Q.float(), V.float(), K.float())
    layer.double()
    y, a = layer(Q, V, K, value_mask=HOLES, return_attention_scores=True)
    Wq, Wk, v = layer.query_projection.weight, layer.key_projection.weight, layer.scale
    scores = torch.einsum("u,bqku->bqk", v, torch.tanh((Q @ Wq.T)[:, :, None] + (K @ Wk.T)[:, None]))
    expected = torch.softmax(scores.masked_fill(~HOLES[:, None], float("-inf")), dim=-1)
    torch.testing.assert_close(a, expected)
    torch.testing.assert_close(y, expected @ V)
    assert {n for n, _ in layer.named_parameters()} == {"scale", "query_projection.weight", "key_projection.weight"}


def test_keras_list_form_and_lengths_give_the_same_result():
    layer = Attention().double()
    lengths = torch.tensor([5, 3])
    prefix = torch.arange(5)[None] < lengths[:, None]
    by_lengths = layer(Q, V, K, value_lengths=lengths, query_lengths=torch.tensor([3, 2]))
    by_list = layer([Q, V, K], mask=[torch.tensor([[1, 1, 1], [1, 1, 0]]).bool(), prefix])
    torch.testing.assert_close(by_lengths, by_list)
    assert torch.equal(by_lengths[1, 2], torch.zeros(6, dtype=torch.float64))   # padded query row is 0


def test_a_fully_masked_row_gives_no_nan_and_in_float32_attends_uniformly_as_keras():
    y, a = Attention()(Q.float(), V.float(), K.float(), value_mask=torch.zeros(2, 5, dtype=torch.bool),
                       return_attention_scores=True)
    torch.testing.assert_close(a, torch.full_like(a, 0.2))              # scores - 1e9 round to -1e9 in float32
    assert torch.isfinite(y).all()


def test_attention_dropout_only_in_training_and_the_training_argument():
    layer = Attention(dropout=0.5).double()
    layer.eval()
    _, a = layer(Q, V, K, return_attention_scores=True)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 3, dtype=torch.float64))
    _, dropped = layer(Q, V, K, return_attention_scores=True, training=True)
    assert (dropped == 0).any() and not layer.training                  # the mode is restored


def test_attention_argument_errors():
    layer = Attention()
    with pytest.raises(ValueError, match="same width D"):
        layer(Q.float(), V.float(), _t(2, 5, 3).float())
    with pytest.raises(ValueError, match="same number of steps"):
        layer(Q.float(), V.float(), _t(2, 4, 4).float())
    with pytest.raises(ValueError, match="value_lengths= or value_mask="):
        layer(Q.float(), V.float(), K.float(), value_lengths=[5, 5], value_mask=HOLES)
    with pytest.raises(ValueError, match=r"value_mask must have shape \(B, T\) = \(2, 5\)"):
        layer(Q.float(), V.float(), K.float(), value_mask=HOLES[:, :4])
    with pytest.raises(TypeError, match="value_mask must be a bool tensor"):
        layer(Q.float(), V.float(), K.float(), value_mask=HOLES.double())
    with pytest.raises(ValueError, match="score_mode must be one of"):
        Attention(score_mode="general")


def _copy_torch(mha: MultiHeadAttention, torch_mha: torch.nn.MultiheadAttention, E: int) -> None:
    with torch.no_grad():
        if torch_mha._qkv_same_embed_dim:
            w = torch_mha.in_proj_weight.chunk(3)
        else:
            w = (torch_mha.q_proj_weight, torch_mha.k_proj_weight, torch_mha.v_proj_weight)
        b = torch_mha.in_proj_bias.chunk(3)
        for linear, weight, bias in zip((mha.query_projection, mha.key_projection, mha.value_projection), w, b):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        mha.output_projection.load_state_dict(torch_mha.out_proj.state_dict())


@pytest.mark.parametrize("kdim,vdim", [(8, 8), (5, 3)])
def test_multi_head_attention_matches_torch(kdim, vdim):
    torch.manual_seed(0)
    E, N = 8, 2
    torch_mha = torch.nn.MultiheadAttention(E, N, kdim=kdim, vdim=vdim, batch_first=True)
    mha = MultiHeadAttention(N, E // N)
    q, k, v = torch.randn(2, 4, E), torch.randn(2, 6, kdim), torch.randn(2, 6, vdim)
    mha(q, v, k)
    _copy_torch(mha, torch_mha, E)
    lengths = torch.tensor([6, 4])
    padding = torch.arange(6)[None] >= lengths[:, None]
    expected, weights = torch_mha(q, k, v, key_padding_mask=padding, average_attn_weights=False,
                                  attn_mask=torch.triu(torch.ones(4, 6, dtype=torch.bool), 1))
    y, a = mha(q, v, k, value_lengths=lengths, use_causal_mask=True, return_attention_scores=True)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(a, weights)


def test_multi_head_attention_maps_keras_einsum_kernels():
    rng = np.random.default_rng(0)
    Dq, Dv, N, K, V, Do = 5, 4, 2, 3, 2, 6
    kernels = (rng.normal(size=(Dq, N, K)), rng.normal(size=(Dv, N, K)), rng.normal(size=(Dv, N, V)),
               rng.normal(size=(N, V, Do)))
    biases = (rng.normal(size=(N, K)), rng.normal(size=(N, K)), rng.normal(size=(N, V)), rng.normal(size=Do))
    mha = MultiHeadAttention(N, K, value_dim=V, output_shape=Do)
    q, v = _t(2, 3, Dq, seed=6), _t(2, 4, Dv, seed=7)
    mha(q.float(), v.float())
    mha.double()
    with torch.no_grad():
        for linear, kernel, bias in zip((mha.query_projection, mha.key_projection, mha.value_projection,
                                         mha.output_projection), kernels, biases):
            linear.weight.copy_(torch.from_numpy(kernel.reshape(-1, kernel.shape[-1]) if kernel is kernels[3]
                                                 else kernel.reshape(kernel.shape[0], -1)).T)
            linear.bias.copy_(torch.from_numpy(bias.reshape(-1)))
    q_mask = np.array([[True, True, True], [True, False, True]])
    v_mask = np.array([[True, False, True, True], [True, True, False, False]])
    y, a = mha(q, v, query_mask=torch.from_numpy(q_mask), value_mask=torch.from_numpy(v_mask),
               return_attention_scores=True)
    mask = q_mask[:, :, None] & v_mask[:, None, :]
    ey, ea = keras.multi_head_attention(_np(q), _np(v), _np(v), kernels, biases, mask=mask)
    np.testing.assert_allclose(_np(y), ey, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(_np(a), ea, rtol=1e-9, atol=1e-12)


def test_multi_head_attention_errors():
    mha = MultiHeadAttention(2, 3)
    q = torch.randn(2, 4, 5)
    mha(q, q)
    with pytest.raises(ValueError, match="query must have 5 features"):
        mha(torch.randn(2, 4, 6), q)
    with pytest.raises(ValueError, match="attention_mask must be a bool tensor"):
        mha(q, q, attention_mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="num_heads must be a positive int"):
        MultiHeadAttention(2.0, 3)
