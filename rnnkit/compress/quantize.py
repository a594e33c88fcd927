r"""Dynamic int8 quantisation of ``Linear``/``Dense``, ``Embedding`` and the ``rnnkit.nn`` RNN, LSTM and GRU, for
CPU inference.

Weights are stored as int8 with one float scale per output row (symmetric, per channel):

    s_n = max_k |W_nk| / 127,   Q_nk = round(W_nk / s_n) ∈ [-127, 127],   Ŵ_nk = s_n Q_nk

so |W - Ŵ| ≤ s_n / 2 and a float32 weight matrix shrinks to a quarter (plus one scale per row). "Dynamic":
activations stay float32 between layers and are quantised on the fly inside each product.

Products: the fast path is PyTorch's int8 GEMM for dynamic quantisation (``torch.ops.quantized.linear_dynamic``,
fbgemm/oneDNN on x86): it quantises x per tensor to 8 bits — with ``reduce_range``, 7: step
Δ = (max(x, 0) - min(x, 0)) / 127 — and multiplies in integers, so against the reference ``x Ŵᵀ`` (float32)

    |y_n - (x Ŵᵀ)_n| ≤ Δ/2 · Σ_k |Ŵ_nk|          (per row of x; plus float rounding)

which ``tests/compress/test_quantize.py`` asserts. ``reference=True`` computes ``x Ŵᵀ`` in float32, and so do
products of fewer than ``INT8_FROM`` weights, where the int8 call costs more than it saves (measured below).

Recurrent layers: per layer-direction the input projection ``A = x W_ihᵀ + b_ih`` runs once for all T·B rows
(one large int8 GEMM), then the recurrence: by the float layer's compiled forward kernel on A and Ŵ_hh in float32
(one C++ call; the kernel takes the projection precomputed), or — where the kernels are not built, or with
``compiled = False`` — step by step through the int8 product, gates as in ``rnnkit.cells.steps``, lengths masked
as in ``rnnkit.cells.loop.run_steps``. The compiled path is taken below ``RECURRENT_INT8_FROM`` recurrent
weights, where one int8 call per step costs more than the product saves; W_hh is stored as int8 either way. Inference only
(no gradients). LayerNorm cells, recurrent dropout and zoneout in training are not covered: an error names them.

PyTorch's packed int8 weight is built from a quantised tensor, an API torch 2.13 marks deprecated (a UserWarning
on creation); that one warning is silenced, by its message, where the weight is packed (``_pack``) and nowhere else.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.loop import run_steps
from rnnkit.cells.steps import _gru_combine, _lstm_gates
from rnnkit.nn._state import stack_states

__all__ = ["quantize_weight", "Int8Linear", "Int8Embedding", "Int8Recurrent", "quantize_dynamic", "dequantize_weights_", "weight_bytes"]


# Weights (K·N) from which a product runs through the int8 GEMM. Measured at 1 thread on the 2-core box (µs per
# call, float32 F.linear vs int8): B32 K16 N64 3.9 vs 19.3; B32 K64 N256 16.0 vs 17.6; B1 K256 N1024 23 vs 21;
# B32 K256 N1024 222 vs 58; B256 K128 N512 380 vs 104.
INT8_FROM = 16384

# W_hh sizes (G·H) from which the recurrence steps through the int8 product in Python rather than running in the
# compiled float kernel on Ŵ_hh. Measured by bench/quantize.py (predict, 1 thread, int8 ÷ float32 speed): LSTM 64
# on JapaneseVowels 0.43× stepping in int8 vs 0.70–0.90× compiled; LSTM 256 (B 128, T 50) 1.15× vs 0.89×.
RECURRENT_INT8_FROM = 65536


def quantize_weight(weight: Tensor) -> tuple[Tensor, Tensor]:
    """(Q int8 (N, K), s float32 (N,)): symmetric per-row quantisation; an all-zero row gets s = 1."""
    if weight.dim() != 2:
        raise ValueError(f"quantize_weight: expected a 2-D weight (N, K); got shape {tuple(weight.shape)}.")
    w = weight.detach().float()
    scale = w.abs().amax(dim=1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


def _int8_gemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines or "x86" in torch.backends.quantized.supported_engines


def _compiled_ops() -> Any:
    from rnnkit.kernels.compiled import is_available, ops

    return ops() if is_available() else None


def _pack(q: Tensor, scale: Tensor, bias: Tensor | None) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other "
                                r"quantized tensor creation functions", category=UserWarning)
        qw = torch._make_per_channel_quantized_tensor(q, scale.double(), torch.zeros_like(scale, dtype=torch.long), 0)
        return torch.ops.quantized.linear_prepack(qw, bias)


class Int8Linear(nn.Module):
    """``y = x Ŵᵀ + b`` with Ŵ stored as int8 (``weight_q``) and per-row ``scale``; see the module docstring."""

    def __init__(self, weight: Tensor, bias: Tensor | None = None, *, reference: bool = False) -> None:
        super().__init__()
        q, scale = quantize_weight(weight)
        self.register_buffer("weight_q", q)
        self.register_buffer("scale", scale)
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        # Products below INT8_FROM weights run as float32 on Ŵ (kept dequantized in memory, not stored): there
        # the int8 GEMM's per-call cost (quantising x, ~15 µs) exceeds the product itself (see INT8_FROM).
        self.reference = bool(reference) or not _int8_gemm_available() or q.numel() < INT8_FROM
        self._packed = None if self.reference else _pack(q, scale, self.bias)
        self._dequantized = self.dequantized() if self.reference else None

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, reference: bool = False) -> Int8Linear:
        return cls(linear.weight, linear.bias, reference=reference)

    def dequantized(self) -> Tensor:
        """Ŵ (N, K) float32."""
        return self.weight_q.float() * self.scale[:, None]

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype != torch.float32:
            raise TypeError(f"Int8Linear: expects float32 input; got {x.dtype}. Use x.float().")
        if self.reference or x.device.type != "cpu":
            weight = self._dequantized if self._dequantized is not None else self.dequantized()
            return F.linear(x, weight.to(x.device), None if self.bias is None else self.bias.to(x.device))
        shape = x.shape
        y = torch.ops.quantized.linear_dynamic(x.reshape(-1, shape[-1]).contiguous(), self._packed, True)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8, reference={self.reference}"


class Int8Embedding(nn.Module):
    """An embedding table stored as int8 with one scale per row (per token): ``e = s_v Q_v``, gathered then scaled."""

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        q, scale = quantize_weight(embedding.weight)
        self.register_buffer("weight_q", q)
        self.register_buffer("scale", scale)
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim

    def forward(self, ids: Tensor) -> Tensor:
        return self.weight_q[ids].float() * self.scale[ids].unsqueeze(-1)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8"


class Int8Recurrent(nn.Module):
    """An ``rnnkit.nn`` RNN/LSTM/GRU with int8 weights: same ``forward(input, hx=None, *, lengths=None)`` and outputs;
    see the module docstring."""

    def __init__(self, layer: nn.Module, *, reference: bool = False) -> None:
        super().__init__()
        from rnnkit.nn import GRU, LSTM, RNN

        name = type(layer).__name__
        if type(layer) not in (RNN, LSTM, GRU):
            raise TypeError(f"Int8Recurrent: quantises rnnkit.nn RNN, LSTM and GRU; got {name} (LayerNorm cells keep "
                            "their float weights: their normalisation sits between the product and the gates).")
        self.cell = {RNN: "elman", LSTM: "lstm", GRU: "gru"}[type(layer)]
        self.nonlinearity = getattr(layer, "nonlinearity", "tanh")
        for attr in ("input_size", "hidden_size", "num_layers", "batch_first", "bidirectional", "zoneout",
                     "state_count"):
            setattr(self, attr, getattr(layer, attr))
        self.num_directions = 2 if layer.bidirectional else 1
        # the recurrence through the float layer's compiled kernel (where built and W_hh is below
        # RECURRENT_INT8_FROM); False: the Python step loop
        self.compiled = True
        self.train(layer.training)
        self.input_projections = nn.ModuleList()
        self.recurrent_products = nn.ModuleList()
        for l in range(layer.num_layers):
            for d in range(self.num_directions):
                W_ih, W_hh, b_ih, b_hh = layer.layer_weights(l, d)[:4]
                self.input_projections.append(Int8Linear(W_ih, b_ih, reference=reference))
                self.recurrent_products.append(Int8Linear(W_hh, b_hh, reference=reference))

    def _step(self, a_t: Tensor, state: tuple[Tensor, ...], weights: tuple) -> tuple[Tensor, ...]:
        (recurrent,) = weights
        R = recurrent(state[0])                                    # W_hh h_{t-1} + b_hh (B, G)
        if self.cell == "elman":
            return (torch.tanh(a_t + R) if self.nonlinearity == "tanh" else torch.relu(a_t + R),)
        if self.cell == "lstm":
            i, f, g, o = _lstm_gates(a_t + R)
            c = f * state[1] + i * g
            return o * torch.tanh(c), c
        return (_gru_combine(a_t, R, state[0]),)

    def _compiled_recurrence(self, A: Tensor, state: tuple[Tensor, ...], recurrent: Int8Linear, mask: Tensor | None,
                             reverse: bool, keeps: tuple[Tensor, ...] | None) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The recurrence by the compiled forward kernel of the float layer, on A and Ŵ_hh (float32): the kernel
        takes the input projection precomputed, so only W_hh h_{t-1} runs inside it."""
        from rnnkit.kernels.compiled._common import as_mask, full_update

        ops = _compiled_ops()
        H = self.hidden_size
        W_hh = recurrent._dequantized if recurrent._dequantized is not None else recurrent.dequantized()
        m = as_mask(mask, A)
        u = [full_update(mask, keeps[j] if keeps else None, A, H) for j in range(self.state_count)]
        A = A.contiguous()
        h0 = state[0].contiguous()
        if self.cell == "gru":
            y, h_n, _, _ = ops.gru_forward(A, h0, W_hh, recurrent.bias, m, None, u[0], reverse)
            return y, (h_n,)
        if recurrent.bias is not None:
            A += recurrent.bias                                              # Gx = x Ŵ_ihᵀ + b_ih + b_hh
        if self.cell == "lstm":
            y, h_n, c_n, _, _, _ = ops.lstm_forward(A, h0, state[1].contiguous(), W_hh, m, None, u[0], u[1], reverse)
            return y, (h_n, c_n)
        y, h_n, _ = ops.elman_forward(A, h0, W_hh, m, None, u[0], reverse, self.nonlinearity == "relu")
        return y, (h_n,)

    @torch.no_grad()
    def forward(self, input: Tensor, hx: Any = None, *, lengths: Any = None):
        if self.training and self.zoneout:
            raise ValueError("Int8Recurrent: inference only; zoneout in training needs the float layer. Call .eval().")
        x = input.transpose(0, 1) if self.batch_first else input          # (T, B, I)
        T, B, _ = x.shape
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        if hx is None:
            state = (x.new_zeros(LD, B, H),) * self.state_count
        else:
            state = (hx,) if self.state_count == 1 else tuple(hx)
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to(torch.int64)
            mask = (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).to(x.dtype)   # (T, B)
        keeps = None if not self.zoneout else (x.new_full((1, 1, 1), self.zoneout).expand(T, B, H),) * self.state_count
        compiled = self.compiled and x.device.type == "cpu" and x.dtype == torch.float32 and _compiled_ops() is not None
        finals, layer_input = [], x
        for l in range(self.num_layers):
            outputs = []
            for d in range(self.num_directions):
                k = l * self.num_directions + d
                A = self.input_projections[k](layer_input)               # (T, B, G), all steps in one product
                s0 = tuple(s[k] for s in state)
                if compiled and self.recurrent_products[k].weight_q.numel() < RECURRENT_INT8_FROM:
                    y, s_n = self._compiled_recurrence(A, s0, self.recurrent_products[k], mask, d == 1, keeps)
                else:
                    y, s_n = run_steps(self._step, A, s0, (self.recurrent_products[k],), mask, d == 1, zoneout=keeps)
                outputs.append(y)
                finals.append(s_n)
            layer_input = outputs[0] if self.num_directions == 1 else torch.cat(outputs, dim=2)
        h_n = stack_states(finals, self.state_count)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, (h_n[0] if self.state_count == 1 else h_n)


def quantize_dynamic(model: nn.Module, *, reference: bool = False) -> nn.Module:
    """A copy of ``model`` in eval mode with every ``torch.nn.Linear``, ``torch.nn.Embedding`` and ``rnnkit.nn``
    RNN/LSTM/GRU replaced by its int8 form (``Int8Linear``, ``Int8Embedding``, ``Int8Recurrent``); other modules
    (LayerNorm cells, convolutions) are kept as they are. For inference: ``predict`` works as on the original."""
    from rnnkit.nn import GRU, LSTM, RNN

    if not isinstance(model, nn.Module):
        raise TypeError(f"quantize_dynamic: expected a torch.nn.Module (an rnnkit model or layer); got "
                        f"{type(model).__name__}.")
    quantized = copy.deepcopy(model).eval()

    def swap(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if type(child) in (RNN, LSTM, GRU):
                setattr(parent, name, Int8Recurrent(child, reference=reference))
            elif isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear.from_linear(child, reference=reference))
            elif isinstance(child, nn.Embedding):
                setattr(parent, name, Int8Embedding(child))
            else:
                swap(child)

    if type(quantized) in (RNN, LSTM, GRU):
        return Int8Recurrent(quantized, reference=reference)
    if isinstance(quantized, nn.Linear):
        return Int8Linear.from_linear(quantized, reference=reference)
    swap(quantized)
    return quantized


def dequantize_weights_(model: nn.Module) -> nn.Module:
    """Replace, in place, every weight matrix that ``quantize_dynamic`` quantises by Ŵ = s·Q (float32), and return
    the model: a float model that computes what the int8 one computes on the reference path, and saves and loads as
    any model does. Quantising it again gives the same Q and s (the largest |Ŵ| of a row is 127 s exactly)."""
    from rnnkit.nn import GRU, LSTM, RNN

    with torch.no_grad():
        for module in model.modules():
            if type(module) in (RNN, LSTM, GRU) or isinstance(module, (nn.Linear, nn.Embedding)):
                for name, p in module.named_parameters(recurse=False):
                    if name.startswith("weight") and p.dim() == 2:
                        q, scale = quantize_weight(p)
                        p.copy_(q.to(p.dtype) * scale[:, None].to(p.dtype))
    return model


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the weights a model stores: parameters and buffers (int8 weights count one byte each)."""
    tensors = list(model.parameters()) + [b for b in model.buffers() if b is not None]
    return int(sum(t.numel() * t.element_size() for t in tensors))
