r"""``Attention`` (Luong, dot product) and ``AdditiveAttention`` (Bahdanau), with Keras 3's semantics.

Both take a query ``q`` (B, Tq, D), a value ``v`` (B, Tv, Dv) and a key ``k`` (B, Tv, D), default the
value, and compute

    scores = score(q, k)                                   (B, Tq, Tv)
    a      = softmax(scores - 1e9 · (1 - mask))            over the keys; then dropout in training
    y      = a v                                           (B, Tq, Dv), times the query mask

``Attention``, ``score_mode="dot"`` (Luong et al. 2015): ``scores = s · q kᵀ``, where ``s`` is a learned
scalar starting at 1 with ``use_scale=True`` (Keras' parametrisation: not 1/√D), else 1.
``score_mode="concat"``: ``scores[i, j] = c · sum_d tanh(s (q_i + k_j))_d``, with a learned scalar ``c``.

``AdditiveAttention`` (Bahdanau et al. 2015):

    units=None (Keras' form):  scores[i, j] = sum_d w_d tanh(q_i + k_j)_d,         q and k of one width D
    units=U:                   scores[i, j] = sum_u w_u tanh(W_q q_i + W_k k_j)_u   (the projected form)

``w`` is learned (Glorot-uniform, shape (D,) or (U,)) with ``use_scale=True``, else 1. Keras'
``AdditiveAttention`` has no projections (its inputs are expected projected already); ``units=U``
adds ``W_q`` (U, Dq) and ``W_k`` (U, Dk) without biases, the Bahdanau score ``vᵀ tanh(W_q q + W_k k)``
that TensorFlow Addons' ``BahdanauAttention`` computes, so that a seq2seq decoder needs no extra layers.

Masks (True = attend): the key mask comes from ``value_lengths=`` (B,) or ``value_mask=`` (B, Tv), any
pattern; ``use_causal_mask=True`` lets query step i see keys j <= i. The query mask (``query_lengths``
or ``query_mask``) zeroes the output rows of padded queries, as Keras does. Keras' list form
``layer([q, v, k], mask=[q_mask, v_mask])`` works too. ``return_attention_scores=True`` also returns
``a`` (B, Tq, Tv) (Keras' name for the weights).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit._checks import check_choice, check_probability
from rnnkit.layers._attention import causal_mask, combine_masks, masked_softmax, resolve_mask, split_inputs
from rnnkit.layers._base import Shape, _fmt, check_units, glorot_uniform_, training_mode
from rnnkit.layers._multi_input import MultiInputLayer

__all__ = ["Attention", "AdditiveAttention"]


class Attention(MultiInputLayer):
    """``Attention(use_scale=False, score_mode="dot", dropout=0.0)``; see the module docstring.

    ``layer(query, value, key=None, *, query_lengths=None, value_lengths=None, query_mask=None,
    value_mask=None, use_causal_mask=False, return_attention_scores=False, training=None)``
    """

    input_names = ("query", "value", "key")

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, *,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.use_scale = bool(use_scale)
        self.score_mode = check_choice(type(self).__name__, "score_mode", score_mode, self.score_modes)
        self.dropout = check_probability(type(self).__name__, "dropout", dropout)

    score_modes: tuple[str, ...] = ("dot", "concat")

    # --- the public call ----------------------------------------------------------------------
    def forward(
        self, query: Any, value: Any = None, key: Any = None, *, query_lengths: Any = None, value_lengths: Any = None,
        query_mask: Any = None, value_mask: Any = None, mask: Any = None, use_causal_mask: bool = False,
        return_attention_scores: bool = False, training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        query, value, key, list_query_mask, list_value_mask = split_inputs(self.display_name, query, value, key, mask)
        if mask is not None and (query_mask is not None or value_mask is not None):
            raise ValueError(f"{self.display_name}: pass mask=[query_mask, value_mask] or query_mask=/value_mask=, not both.")
        query_mask = query_mask if mask is None else list_query_mask
        value_mask = value_mask if mask is None else list_value_mask
        self.check_tensors([query, value, key], self.input_names, ndim=3)
        self.check_widths(query, value, key)
        self.build_for([query, value, key])
        B, Tq, _ = query.shape
        Tv = value.shape[1]
        q_mask = resolve_mask(self.display_name, query_lengths, query_mask, B, Tq, what="query", device=query.device)
        v_mask = resolve_mask(self.display_name, value_lengths, value_mask, B, Tv, what="value", device=query.device)
        score_mask = combine_masks(None if v_mask is None else v_mask.unsqueeze(1),          # (B, 1, Tv)
                                   causal_mask(Tq, Tv, query.device) if use_causal_mask else None)
        if training is None or bool(training) == self.training:
            y, a = self.call(query, value, key, score_mask, q_mask)
        else:
            with training_mode(self, bool(training)):
                y, a = self.call(query, value, key, score_mask, q_mask)
        return (y, a) if return_attention_scores else y

    def check_widths(self, query: Tensor, value: Tensor, key: Tensor) -> None:
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.display_name}: key and value must have the same number of steps (Tv); got key "
                             f"{_fmt(tuple(key.shape))} and value {_fmt(tuple(value.shape))}.")
        if query.shape[-1] != key.shape[-1] and getattr(self, "units", None) is None:
            raise ValueError(
                f"{self.display_name}: query and key must have the same width D for score_mode={self.score_mode!r}; got "
                f"query {_fmt(tuple(query.shape))} and key {_fmt(tuple(key.shape))}. Project one with a Dense layer"
                + (", or use AdditiveAttention(units=...)." if type(self) is Attention else ", or set units=...")
            )

    # --- the math -----------------------------------------------------------------------------
    def call(self, query: Tensor, value: Tensor, key: Tensor, score_mask: Tensor | None,
             query_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        scores = self.scores(query, key)                                 # (B, Tq, Tv)
        a = masked_softmax(scores, score_mask)                           # (B, Tq, Tv)
        if self.dropout > 0 and self.training:
            a = F.dropout(a, self.dropout, training=True)
        y = a @ value                                                    # (B, Tq, Dv)
        if query_mask is not None:
            y = y * query_mask.unsqueeze(-1).to(y.dtype)                 # padded queries give 0, as Keras
        return y, a

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        if self.score_mode == "dot":
            scores = query @ key.transpose(1, 2)                         # q kᵀ: (B, Tq, Tv)
            return scores * self.scale if self.scale is not None else scores
        q, k = query.unsqueeze(2), key.unsqueeze(1)                      # (B, Tq, 1, D), (B, 1, Tv, D)
        s = self.scale if self.scale is not None else 1.0
        return self.concat_score_weight * torch.tanh(s * (q + k)).sum(dim=-1)

    def build(self, input_shapes: list[Shape]) -> None:
        self.scale = nn.Parameter(torch.ones(())) if self.use_scale else None
        self.concat_score_weight = nn.Parameter(torch.ones(())) if self.score_mode == "concat" else None

    def compute_output_shape(self, input_shapes: list[Shape]) -> Shape:
        query, value = input_shapes[0], input_shapes[1]
        return (query[0], value[-1])                                      # (Tq, Dv)

    def get_config(self) -> dict[str, Any]:
        return {"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout,
                **super().get_config()}


class AdditiveAttention(Attention):
    """``AdditiveAttention(use_scale=True, dropout=0.0, *, units=None)``; see the module docstring.

    Called as ``Attention``. Parameters: ``scale`` = w (D,) or (U,); with ``units``, ``query_projection.weight``
    W_q (U, Dq) and ``key_projection.weight`` W_k (U, Dk) in torch's Linear layout (Keras Dense kernels
    are their transposes).
    """

    score_modes = ("additive",)

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, *, units: int | None = None,
                 name: str | None = None) -> None:
        super().__init__(use_scale=use_scale, score_mode="additive", dropout=dropout, name=name)
        self.units = None if units is None else check_units("AdditiveAttention", "units", units)

    def build(self, input_shapes: list[Shape]) -> None:
        query, key = input_shapes[0], input_shapes[-1]
        if self.units is None:
            width = query[-1]
        else:
            width = self.units
            self.query_projection = nn.Linear(query[-1], width, bias=False)   # W_q (U, Dq)
            self.key_projection = nn.Linear(key[-1], width, bias=False)       # W_k (U, Dk)
            glorot_uniform_(self.query_projection.weight, query[-1], width)
            glorot_uniform_(self.key_projection.weight, key[-1], width)
        self.scale = None
        if self.use_scale:
            self.scale = nn.Parameter(torch.empty(width))
            glorot_uniform_(self.scale, width, width)                        # Keras' fans of a 1-D shape: (D, D)

    def scores(self, query: Tensor, key: Tensor) -> Tensor:
        if self.units is not None:
            query, key = self.query_projection(query), self.key_projection(key)   # (B, Tq, U), (B, Tv, U)
        q, k = query.unsqueeze(2), key.unsqueeze(1)                      # (B, Tq, 1, D), (B, 1, Tv, D)
        e = torch.tanh(q + k)                                            # (B, Tq, Tv, D)
        return (e * self.scale).sum(dim=-1) if self.scale is not None else e.sum(dim=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("score_mode")
        return {**config, "units": self.units}
