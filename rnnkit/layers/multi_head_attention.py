r"""``MultiHeadAttention`` (Vaswani et al. 2017) with Keras 3's arguments, masks and semantics.

For a query (B, Tq, Dq), value (B, Tv, Dv) and key (B, Tv, Dk) (default the value), ``num_heads`` N,
``key_dim`` K, ``value_dim`` V (default K) and an output width Do (default Dq):

    Q_n = q W^Q_n + b^Q_n          (B, Tq, K)    for each head n
    K_n = k W^K_n + b^K_n          (B, Tv, K)
    V_n = v W^V_n + b^V_n          (B, Tv, V)
    A_n = softmax(Q_n K_nᵀ / √K - 1e9 · (1 - mask))            (B, Tq, Tv), then dropout in training
    y   = concat_n(A_n V_n) W^O + b^O                           (B, Tq, Do)

The mask (True = attend) is the AND of the ``attention_mask`` (B, Tq, Tv), the query mask on rows,
the value mask on columns (each from ``*_lengths`` (B,) or ``*_mask`` (B, T)) and the causal mask, as
Keras builds it. Unlike ``Attention``, padded queries are not zeroed (Keras passes their mask on).

Weights in torch's Linear layout, heads side by side: ``query_projection.weight`` (N K, Dq) (row
``n K + c`` is head n, unit c), ``key_projection.weight`` (N K, Dk), ``value_projection.weight``
(N V, Dv), ``output_projection.weight`` (Do, N V), biases likewise. ``torch.nn.MultiheadAttention``
with ``E = N K`` maps by splitting ``in_proj_weight`` in three. Keras' EinsumDense kernels map as
``query_projection.weight = kernel_q.reshape(Dq, N K).T`` (kernel (Dq, N, K)), the same for key and
value, ``output_projection.weight = kernel_o.reshape(N V, Do).T`` (kernel (N, V, Do)), biases
``bias.reshape(-1)``. ``return_attention_scores=True`` also returns A (B, N, Tq, Tv).
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit._checks import check_probability
from rnnkit.layers._attention import causal_mask, combine_masks, masked_softmax, resolve_mask, split_inputs
from rnnkit.layers._base import Shape, _fmt, check_units, glorot_uniform_, training_mode
from rnnkit.layers._masks import check_mask
from rnnkit.layers._multi_input import MultiInputLayer

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(MultiInputLayer):
    """``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None)``.

    ``layer(query, value, key=None, *, query_lengths=None, value_lengths=None, query_mask=None, value_mask=None,
    attention_mask=None, use_causal_mask=False, return_attention_scores=False, training=None)``
    """

    input_names = ("query", "value", "key")

    def __init__(
        self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
        use_bias: bool = True, output_shape: int | None = None, *, name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        owner = "MultiHeadAttention"
        self.num_heads = check_units(owner, "num_heads", num_heads)
        self.key_dim = check_units(owner, "key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else check_units(owner, "value_dim", value_dim)
        self.dropout = check_probability(owner, "dropout", dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (tuple, list)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        self.output_shape = None if output_shape is None else check_units(owner, "output_shape", output_shape)

    def forward(
        self, query: Any, value: Any = None, key: Any = None, *, query_lengths: Any = None, value_lengths: Any = None,
        query_mask: Any = None, value_mask: Any = None, attention_mask: Any = None, use_causal_mask: bool = False,
        return_attention_scores: bool = False, training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        query, value, key, _, _ = split_inputs(self.display_name, query, value, key, None)
        self.check_tensors([query, value, key], self.input_names, ndim=3)
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.display_name}: key and value must have the same number of steps (Tv); got key "
                             f"{_fmt(tuple(key.shape))} and value {_fmt(tuple(value.shape))}.")
        self.build_for([query, value, key])
        self.check_widths([tuple(t.shape[1:]) for t in (query, value, key)])
        B, Tq, _ = query.shape
        Tv = value.shape[1]
        owner, device = self.display_name, query.device
        q_mask = resolve_mask(owner, query_lengths, query_mask, B, Tq, what="query", device=device)
        v_mask = resolve_mask(owner, value_lengths, value_mask, B, Tv, what="value", device=device)
        if attention_mask is not None:
            if not hasattr(attention_mask, "dim") or attention_mask.dim() != 3:
                raise ValueError(f"{owner}: attention_mask must be a bool tensor (B, Tq, Tv) = ({B}, {Tq}, {Tv}); got "
                                 f"{getattr(attention_mask, 'shape', type(attention_mask).__name__)}.")
            attention_mask = check_mask(owner, "attention_mask", attention_mask.reshape(B, -1), B, Tq * Tv)
            attention_mask = attention_mask.reshape(B, Tq, Tv).to(device)
        mask = combine_masks(
            attention_mask,
            None if q_mask is None else q_mask.unsqueeze(2),             # (B, Tq, 1)
            None if v_mask is None else v_mask.unsqueeze(1),             # (B, 1, Tv)
            causal_mask(Tq, Tv, device) if use_causal_mask else None,    # (Tq, Tv)
        )
        if training is None or bool(training) == self.training:
            y, a = self.call(query, value, key, mask)
        else:
            with training_mode(self, bool(training)):
                y, a = self.call(query, value, key, mask)
        return (y, a) if return_attention_scores else y

    def call(self, query: Tensor, value: Tensor, key: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        B, Tq, _ = query.shape
        Tv, N, K, V = value.shape[1], self.num_heads, self.key_dim, self.value_dim
        Q = self.query_projection(query).reshape(B, Tq, N, K).transpose(1, 2)    # (B, N, Tq, K)
        Kt = self.key_projection(key).reshape(B, Tv, N, K).transpose(1, 2)       # (B, N, Tv, K)
        Vh = self.value_projection(value).reshape(B, Tv, N, V).transpose(1, 2)   # (B, N, Tv, V)
        scores = (Q / math.sqrt(K)) @ Kt.transpose(2, 3)                         # (B, N, Tq, Tv)
        a = masked_softmax(scores, None if mask is None else mask.unsqueeze(-3))  # the mask is shared by the heads
        if self.dropout > 0 and self.training:
            a = F.dropout(a, self.dropout, training=True)
        heads = (a @ Vh).transpose(1, 2).reshape(B, Tq, N * V)                   # (B, Tq, N V)
        return self.output_projection(heads), a                                  # (B, Tq, Do)

    def build(self, input_shapes: list[Shape]) -> None:
        (Dq,), (Dv,), (Dk,) = (s[-1:] for s in input_shapes)
        N, K, V = self.num_heads, self.key_dim, self.value_dim
        Do = self.output_shape or Dq
        self.query_projection = nn.Linear(Dq, N * K, bias=self.use_bias)
        self.key_projection = nn.Linear(Dk, N * K, bias=self.use_bias)
        self.value_projection = nn.Linear(Dv, N * V, bias=self.use_bias)
        self.output_projection = nn.Linear(N * V, Do, bias=self.use_bias)
        # Keras: Glorot-uniform on the EinsumDense kernels, whose fans it computes as for a conv kernel: for
        # (Dq, N, K) fan_in = N Dq, fan_out = K Dq; for the output kernel (N, V, Do) fan_in = V N, fan_out = Do N
        for linear, fan_in, fan_out in ((self.query_projection, N * Dq, K * Dq), (self.key_projection, N * Dk, K * Dk),
                                        (self.value_projection, N * Dv, V * Dv), (self.output_projection, V * N, Do * N)):
            glorot_uniform_(linear.weight, fan_in, fan_out)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def check_widths(self, shapes: list[Shape]) -> None:
        built = self.built_input_shape
        for name, shape, want in zip(self.input_names, shapes, built):
            if shape[-1] != want[-1]:
                raise ValueError(f"{self.display_name}: {name} must have {want[-1]} features (the layer was built for "
                                 f"them); got shape {_fmt((None, *shape))}.")

    def compute_output_shape(self, input_shapes: list[Shape]) -> Shape:
        query = input_shapes[0]
        return (query[0], self.output_shape or query[-1])

    def get_config(self) -> dict[str, Any]:
        return {"num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
                "dropout": self.dropout, "use_bias": self.use_bias, "output_shape": self.output_shape,
                **super().get_config()}
