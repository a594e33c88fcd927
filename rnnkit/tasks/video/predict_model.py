r"""``FramePredictor``: a ConvLSTM encoder–forecaster (Shi et al. 2015, §3.3 and fig. 3) for next-frame prediction.

    x (B, T_in, Y, X) in [0, 1]
      -> patches: each p×p block of pixels becomes p² channels          (B, T_in, p², Y/p, X/p)   (Shi et al. §4.1)
      -> encoder ConvLSTM, L layers of H channels, over the T_in frames -> (h_n, c_n) (L, B, H, Y/p, X/p)
      -> forecaster ConvLSTM, L layers of H channels, started from (h_n, c_n), T_out steps with no input
                                                                        (B, T_out, H, Y/p, X/p)
      -> 1×1 conv H -> p², sigmoid, patches back to pixels             (B, T_out, Y, X) in [0, 1]

Departures from the paper, on purpose: the forecaster's input is a zero frame (Shi et al.'s forecasting
network has no input at all; one zero channel keeps the ConvLSTM's interface), and the 1×1 output
convolution reads the last forecaster layer only (the paper concatenates every layer's states) — both keep
the model small enough to train in minutes on two CPU cores. With ``conditional=True`` the forecaster
instead reads the patches of the frame before the one it predicts: the last observed frame, then its own
previous prediction (Srivastava et al. 2015's conditional decoder; stepped one frame at a time).

Training (``train_step``) minimises the per-pixel binary cross-entropy of the logits (``loss="bce"``: sharp
frames, the usual choice for moving digits) or the MSE of the pixels (``loss="mse"``); ``test_step`` reports
both, so the validation loss is the same whichever is trained.

Shape legend: B clips, T_in observed frames, T_out predicted frames, Y × X a frame, p the patch size,
H hidden channels per layer, L layers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models import Model
from rnnkit.nn import ConvLSTM2D
from rnnkit.saving import register_serializable

__all__ = ["FramePredictor", "predict_frames"]

LOSSES = ("bce", "mse")


@register_serializable("FramePredictor", package="rnnkit")
class FramePredictor(Model):
    """Frames (B, T_in, Y, X) in [0, 1] -> the next ``output_frames`` frames (B, T_out, Y, X) in [0, 1]."""

    def __init__(self, *, frame_size: int = 32, output_frames: int = 10, patch_size: int = 4,
                 hidden_channels: int = 16, num_layers: int = 2, kernel_size: int = 3, loss: str = "bce",
                 conditional: bool = False) -> None:
        super().__init__(name="frame_predictor")
        for name, value in (("frame_size", frame_size), ("output_frames", output_frames), ("patch_size", patch_size),
                            ("hidden_channels", hidden_channels), ("num_layers", num_layers),
                            ("kernel_size", kernel_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"FramePredictor: {name} must be an int >= 1; got {value!r}")
        if frame_size % patch_size:
            raise ValueError(f"FramePredictor: patch_size={patch_size} must divide frame_size={frame_size}; "
                             f"choose a divisor such as {', '.join(str(d) for d in (1, 2, 4) if frame_size % d == 0)}")
        if kernel_size % 2 == 0:
            raise ValueError(f"FramePredictor: kernel_size must be odd ('same' padding); got {kernel_size}. Try "
                             f"{kernel_size + 1}")
        if loss not in LOSSES:
            raise ValueError(f"FramePredictor: loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        self.frame_size, self.output_frames, self.patch_size = frame_size, output_frames, patch_size
        self.loss_kind, self.conditional = loss, bool(conditional)
        P = patch_size * patch_size
        self.encoder = ConvLSTM2D(P, hidden_channels, kernel_size, num_layers=num_layers)
        self.forecaster = ConvLSTM2D(P if conditional else 1, hidden_channels, kernel_size, num_layers=num_layers)
        self.head = nn.Conv2d(hidden_channels, P, kernel_size=1)
        with torch.no_grad():  # forget gates start open (b_f = 1, Jozefowicz et al. 2015): the state carries early on
            for name, bias in [*self.encoder.named_parameters(), *self.forecaster.named_parameters()]:
                if name.startswith("bias_ih"):
                    bias[hidden_channels:2 * hidden_channels] = 1.0

    def start_from_mean(self, mean_pixel: float) -> None:
        """Set the output bias to logit(mean_pixel), so the untrained model predicts the mean frame: otherwise the
        quickest way down from p = 0.5 everywhere is to darken every pixel by saturating the ConvLSTM cells
        (|c| ~ 7 within ten steps), after which the output no longer depends on the input (seen on seeds 1, 2)."""
        p = min(max(float(mean_pixel), 1e-3), 1 - 1e-3)
        with torch.no_grad():
            self.head.bias.fill_(float(np.log(p / (1 - p))))

    # --- the network ----------------------------------------------------------------------------------
    def check_frames(self, x: Tensor) -> None:
        S = self.frame_size
        if x.dim() != 4 or x.shape[2:] != (S, S):
            raise ValueError(f"FramePredictor: x must have shape (B, T_in, {S}, {S}) (clips of frames); got "
                             f"{tuple(x.shape)}. For one clip (T_in, {S}, {S}) use x[None]")

    def logits(self, x: Tensor) -> Tensor:
        """The pre-sigmoid pixels of the next frames: x (B, T_in, Y, X) -> (B, T_out, Y, X)."""
        self.check_frames(x)
        B, T_in, Y, X = x.shape
        p, T_out = self.patch_size, self.output_frames
        patches = F.pixel_unshuffle(x.reshape(B * T_in, 1, Y, X), p)                  # (B·T_in, p², Y/p, X/p)
        patches = patches.view(B, T_in, p * p, Y // p, X // p)
        _, state = self.encoder(patches)                                              # h_n, c_n (L, B, H, Y/p, X/p)
        if not self.conditional:
            nothing = x.new_zeros(B, T_out, 1, Y // p, X // p)                        # the forecaster reads no input
            y, _ = self.forecaster(nothing, state)                                    # (B, T_out, H, Y/p, X/p)
            out = self.head(y.flatten(0, 1))                                          # (B·T_out, p², Y/p, X/p)
            return F.pixel_shuffle(out, p).view(B, T_out, Y, X)
        previous, outs = patches[:, -1], []                                           # (B, p², Y/p, X/p)
        for _ in range(T_out):
            y_t, state = self.forecaster.step(previous, state)                        # (B, H, Y/p, X/p)
            out = self.head(y_t)                                                      # (B, p², Y/p, X/p)
            outs.append(out)
            previous = torch.sigmoid(out)                                             # its own prediction, next input
        return F.pixel_shuffle(torch.stack(outs, 1).flatten(0, 1), p).view(B, T_out, Y, X)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        del training
        return torch.sigmoid(self.logits(inputs))

    # --- training -------------------------------------------------------------------------------------
    def _losses(self, batch: Any) -> dict[str, Tensor]:
        logits = self.logits(batch.x)
        y = batch.y.to(logits.dtype)
        return {"bce": F.binary_cross_entropy_with_logits(logits, y), "mse": F.mse_loss(torch.sigmoid(logits), y)}

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        self.train()
        losses = self._losses(batch)
        self.optimize(losses[self.loss_kind])
        return {"loss": losses[self.loss_kind].detach(), "mse": losses["mse"].detach()}

    @torch.no_grad()
    def test_step(self, batch: Any) -> dict[str, Tensor]:
        self.eval()
        losses = self._losses(batch)
        return {"loss": losses[self.loss_kind], "mse": losses["mse"]}


@torch.no_grad()
def predict_frames(model: FramePredictor, inputs: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """(N, T_in, Y, X) float frames -> (N, T_out, Y, X) float32 predictions, in eval mode, in batches."""
    model.eval()
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    model.check_frames(x)
    return np.concatenate([model(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]) if len(x) \
        else np.zeros((0, model.output_frames, model.frame_size, model.frame_size), np.float32)
