"""``Masking(mask_value)``: mark trailing padding rows of a float batch, as Keras does, as lengths.

The rule (Keras'): time step ``t`` of sequence ``b`` is masked when *every* feature of it equals
``mask_value``. Keras then multiplies the input by the mask (masked steps become 0) and hands the
boolean mask on. rnnkit hands on lengths instead:

    lengths[b] = 1 + the last t at which some feature of x[b, t] != mask_value

and zeroes the steps from ``lengths[b]`` on. A masked step *before* an unmasked one (a hole) cannot be
expressed by lengths, so it is an error, not skipped as Keras' recurrent layers would skip it: pad at
the end, and choose a ``mask_value`` that no real step has (e.g. -1e9 when zeros occur in the data).
A sequence made of padding only is an error too (every sequence needs a step).

Shapes: ``(B, T, I) → (B, T, I)``. Any rank >= 3 is taken, every axis after time counting as features
(a masked video frame is one whose every value is ``mask_value``); Keras compares the last axis only,
which for rank > 3 gives a mask per row of a frame that no recurrent layer can take.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.layers._base import Layer, Shape, _fmt
from rnnkit.layers._masks import mask_from_lengths

__all__ = ["Masking"]


class Masking(Layer):
    """``Masking(mask_value=0.0)``: lengths from trailing rows equal to ``mask_value``; see the module docstring."""

    def __init__(self, mask_value: float = 0.0, *, name: str | None = None, input_shape: Any = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError(f"Masking: mask_value must be a number; got {type(mask_value).__name__} {mask_value!r}.")
        self.mask_value = float(mask_value)

    def check_input_shape(self, input_shape: Shape) -> None:
        if len(input_shape) < 2:
            raise ValueError(
                f"{self.display_name}: input must be at least 3-D (batch, timesteps, features); got shape "
                f"{_fmt((None, *input_shape))}. For one feature per step use x[..., None]."
            )

    def lengths_of(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``(B,)`` lengths of ``x`` ``(B, T, ...)``; steps past given ``lengths`` count as masked too."""
        B, T = x.shape[:2]
        real = (x != self.mask_value).reshape(B, T, -1).any(dim=2)          # (B, T): a step with a real value
        if lengths is not None:
            real = real & mask_from_lengths(lengths, T, x.device)
        positions = torch.arange(1, T + 1, device=x.device).expand(B, T)
        found = (positions * real).amax(dim=1)                               # (B,) one past the last real step
        if torch.compiler.is_exporting():   # traced for export (rnnkit.export): values unknown, checks are eager-only
            return found.to(torch.int64)
        if int(found.min()) == 0:
            row = int((found == 0).nonzero()[0])
            raise ValueError(f"{self.display_name}: sequence {row} holds only padding (every step equals "
                             f"mask_value={self.mask_value:g}); every sequence needs at least one real step.")
        holes = ~real & (positions <= found.unsqueeze(1))                    # masked steps before a real one
        if bool(holes.any()):
            row = int(holes.any(dim=1).nonzero()[0])
            step = int(holes[row].nonzero()[0])
            raise ValueError(
                f"{self.display_name}: sequence {row} has a masked step (all features == mask_value="
                f"{self.mask_value:g}) at t={step}, before real steps; rnnkit masks trailing padding only (as lengths). "
                "Pad at the end of each sequence, and pick a mask_value no real step takes (e.g. -1e9)."
            )
        return found.to("cpu", torch.int64)

    def call(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        found = self.lengths_of(x, lengths)
        keep = mask_from_lengths(found, x.shape[1], x.device).to(x.dtype)    # (B, T)
        return x * keep.reshape(*keep.shape, *([1] * (x.dim() - 2)))        # masked steps become 0, as Keras

    def propagate(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        y = self(x, lengths=lengths)
        return y, self.lengths_of(x, lengths)

    def get_config(self) -> dict[str, Any]:
        return {"mask_value": self.mask_value, **super().get_config()}
