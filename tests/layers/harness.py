"""The shared layer-test harness: one ``Case`` per layer configuration, and the helpers that run it.

``tests/layers/test_harness.py`` runs every check over every case; a new layer joins by adding a case
here (a test fails while a class in ``rnnkit.layers.REGISTRY`` has none).

Shapes: B = 3 samples, lengths ``LENGTHS`` (B,) for the padded-batch checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit import layers as L

B = 3
LENGTHS = torch.tensor([6, 3, 4])  # every case's padded axis has 6 steps


def _single(layer: Any, inputs: list[Tensor], lengths: Tensor | None) -> Any:
    return layer(inputs[0], lengths=lengths)


def _attention(layer: Any, inputs: list[Tensor], lengths: Tensor | None) -> Any:
    return layer(*inputs, value_lengths=lengths)


def _list(layer: Any, inputs: list[Tensor], lengths: Tensor | None) -> Any:
    return layer(inputs)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], L.Layer]                # a fresh, unbuilt layer
    shapes: list[tuple]                        # each input's shape without the batch axis
    call: Callable[[Any, list[Tensor], Tensor | None], Any] = _single
    ids: int | None = None                     # integer ids in [0, ids) instead of floats (Embedding)
    lengths: bool = True                       # honours lengths: padding never changes outputs within them
    padded: tuple[int, ...] = (0,)             # the inputs that the lengths describe
    own_math: bool = False                     # its own forward math: float64 gradcheck
    multi_input: bool = False                  # several inputs: not for a Sequential
    stochastic: bool = False                   # random in training: compare outputs in eval mode
    any_rank: bool = False                     # takes any input rank >= 2 (the wrong rank is then 1-D)
    kwargs: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id


def inputs_for(case: Case, *, dtype: torch.dtype = torch.float32, seed: int = 0) -> list[Tensor]:
    generator = torch.Generator().manual_seed(seed)
    if case.ids is not None:
        ids = torch.randint(1, case.ids, (B, *case.shapes[0]), generator=generator)
        return [ids]
    return [torch.randn(B, *shape, generator=generator, dtype=dtype) for shape in case.shapes]


def first(output: Any) -> Tensor:
    """The main output of a call that may also return states or scores."""
    return output[0] if isinstance(output, tuple) else output


def fresh(case: Case, seed: int = 0) -> L.Layer:
    torch.manual_seed(seed)
    return case.make()


def build(case: Case, layer: L.Layer, inputs: list[Tensor]) -> L.Layer:
    """Build by one call, in eval mode when the layer is random in training."""
    if case.stochastic:
        layer.eval()
    case.call(layer, inputs, None)
    return layer


CASES = [
    Case("dense", lambda: L.Dense(4, activation="tanh"), [(6, 3)]),
    Case("dense_2d", lambda: L.Dense(2), [(5,)], lengths=False),
    Case("dropout", lambda: L.Dropout(0.3), [(6, 3)], stochastic=True, any_rank=True),
    Case("embedding", lambda: L.Embedding(10, 4, mask_zero=True), [(6,)], ids=10, lengths=False),
    Case("simple_rnn", lambda: L.SimpleRNN(4), [(6, 3)]),
    Case("lstm_sequences", lambda: L.LSTM(4, return_sequences=True), [(6, 3)]),
    Case("gru_backwards", lambda: L.GRU(3, go_backwards=True, return_sequences=True), [(6, 2)]),
    Case("layer_norm_lstm", lambda: L.LayerNormLSTM(3, zoneout=0.2), [(6, 2)], stochastic=True),
    Case("layer_norm_gru", lambda: L.LayerNormGRU(3, return_sequences=True), [(6, 2)]),
    Case("bidirectional_lstm", lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), [(6, 2)]),
    Case("bidirectional_gru_sum", lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), [(6, 2)]),
    Case("time_distributed_dense", lambda: L.TimeDistributed(L.Dense(4)), [(6, 3)]),
    Case("time_distributed_conv", lambda: L.TimeDistributed(L.Conv1D(2, 3, padding="same")), [(6, 5, 3)]),
    Case("conv_same", lambda: L.Conv1D(4, 3, padding="same", activation="relu"), [(6, 3)], own_math=True),
    Case("conv_valid_stride", lambda: L.Conv1D(4, 3, strides=2), [(6, 3)], own_math=True),
    Case("conv_causal_dilated", lambda: L.Conv1D(2, 2, padding="causal", dilation_rate=2, groups=2), [(6, 4)],
         own_math=True),
    Case("max_pool", lambda: L.MaxPooling1D(2), [(6, 3)], own_math=True),
    Case("max_pool_same", lambda: L.MaxPooling1D(3, strides=2, padding="same"), [(6, 3)], own_math=True),
    Case("average_pool_same", lambda: L.AveragePooling1D(2, padding="same", strides=1), [(6, 3)], own_math=True),
    Case("global_max_pool", lambda: L.GlobalMaxPooling1D(), [(6, 3)], own_math=True),
    Case("global_average_pool", lambda: L.GlobalAveragePooling1D(keepdims=True), [(6, 3)], own_math=True),
    Case("global_concat_pool", lambda: L.GlobalConcatPooling1D(), [(6, 3)], own_math=True),
    Case("conv2d_same", lambda: L.Conv2D(3, (3, 2), padding="same", activation="tanh"), [(6, 5, 2)],
         lengths=False, own_math=True),
    Case("conv2d_valid_stride", lambda: L.Conv2D(2, 3, strides=2, use_bias=False), [(6, 5, 2)], lengths=False,
         own_math=True),
    Case("max_pool2d_same", lambda: L.MaxPooling2D(3, strides=2, padding="same"), [(6, 5, 2)], lengths=False,
         own_math=True),
    Case("average_pool2d_same", lambda: L.AveragePooling2D((2, 3), strides=1, padding="same"), [(6, 5, 2)],
         lengths=False, own_math=True),
    Case("global_max_pool2d", lambda: L.GlobalMaxPooling2D(), [(6, 5, 2)], lengths=False, own_math=True),
    Case("global_average_pool2d", lambda: L.GlobalAveragePooling2D(keepdims=True), [(6, 5, 2)], lengths=False,
         own_math=True),
    Case("time_distributed_conv2d", lambda: L.TimeDistributed(L.Conv2D(2, 3, padding="same")), [(6, 5, 4, 2)]),
    Case("conv_lstm2d_sequences", lambda: L.ConvLSTM2D(2, 3, return_sequences=True, peephole=True), [(6, 4, 3, 2)]),
    Case("conv_gru2d_backwards", lambda: L.ConvGRU2D(2, (3, 1), go_backwards=True), [(6, 4, 3, 1)]),
    Case("bidirectional_conv_lstm2d", lambda: L.Bidirectional(L.ConvLSTM2D(2, 1, return_sequences=True)),
         [(6, 3, 3, 2)]),
    Case("masking", lambda: L.Masking(0.0), [(6, 3)], own_math=True),
    Case("layer_norm", lambda: L.LayerNormalization(), [(6, 3)], own_math=True),
    Case("layer_norm_two_axes", lambda: L.LayerNormalization(axis=[-2, -1], epsilon=1e-5), [(6, 3, 2)],
         own_math=True),
    Case("flatten", lambda: L.Flatten(), [(6, 3)], lengths=False, any_rank=True),
    Case("reshape", lambda: L.Reshape((6, 2, -1)), [(6, 6)]),
    Case("concatenate", lambda: L.Concatenate(), [(6, 3), (6, 2)], call=_list, multi_input=True, lengths=False),
    Case("attention_dot", lambda: L.Attention(use_scale=True), [(4, 3), (6, 3)], call=_attention,
         multi_input=True, padded=(1,), own_math=True),
    Case("attention_concat", lambda: L.Attention(score_mode="concat"), [(4, 3), (6, 2), (6, 3)], call=_attention,
         multi_input=True, padded=(1, 2), own_math=True),
    Case("additive_attention", lambda: L.AdditiveAttention(), [(4, 3), (6, 3)], call=_attention,
         multi_input=True, padded=(1,), own_math=True),
    Case("bahdanau_attention", lambda: L.AdditiveAttention(units=5), [(4, 3), (6, 2)], call=_attention,
         multi_input=True, padded=(1,), own_math=True),
    Case("multi_head_attention", lambda: L.MultiHeadAttention(2, 3), [(4, 5), (6, 4)], call=_attention,
         multi_input=True, padded=(1,), own_math=True),
]
