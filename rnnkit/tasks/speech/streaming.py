"""Streaming transcription: a unidirectional CTC run reads a WAV chunk by chunk and emits digits as it goes.

    >>> stream = StreamingTranscriber.from_run(open_run("runs/ctc-fsdd-..."))
    >>> for chunk in np.split(signal, range(80, len(signal), 80)):       # 10 ms of 8 kHz audio at a time
    ...     new_digits = stream.push(chunk)
    >>> stream.flush(); stream.text                                        # "4 0 7"

Three parts, each equal to its offline counterpart (the tests assert it):

- `StreamingFeatures`: samples in, feature frames out. Pre-emphasis carries the last sample over, frames
  are cut as soon as their last sample arrives, and a frame's deltas are emitted once the frames they read
  have arrived: 2K frames later (K = delta_width, order 2: 4 frames, 40 ms). `flush` zero-pads the last
  frame and repeats the edge frame, as `features` does. Per-utterance CMVN needs the whole utterance, so a
  streaming run normalises with the training strings' statistics (`--normalization global`).
- the model, stepped one stacked frame at a time: each recurrent layer's core is called on (1, 1, I) with
  the state it returned last (a unidirectional layer's output at t depends only on steps <= t).
- greedy CTC online: a digit is emitted when the best label is not the blank and differs from the
  previous frame's best label (the collapse of `ctc_greedy`, one frame at a time).

Algorithmic latency: the 25 ms window, the delta look-ahead (2K frames of 10 ms) and the frame stack.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.audio import FeatureConfig, add_deltas, frame_features, num_frames, power_spectrum, window
from rnnkit.tasks.speech.model import BLANK

__all__ = ["StreamingFeatures", "StreamingTranscriber"]


class StreamingFeatures:
    """Incremental `features(signal, front_end)` (front_end.normalize must be False: CMVN is not causal)."""

    def __init__(self, front_end: FeatureConfig) -> None:
        if front_end.normalize:
            raise ValueError("StreamingFeatures: per-utterance normalisation needs the whole utterance; use a front "
                             "end with normalize=False (a CTC run trained with --normalization global)")
        self.front_end = front_end
        self.L, self.S = front_end.frame_length, front_end.hop_length
        self.lookahead = front_end.delta_width * front_end.delta_order          # frames a delta reads ahead
        self.window = window(front_end, torch.float32)   # float32 as offline: the log floor is float32's eps
        self.samples = torch.zeros(0, dtype=torch.float32)   # pre-emphasised samples from the next frame's start on
        self.previous: float | None = None                    # the last raw sample (pre-emphasis)
        self.seen = 0                                          # raw samples pushed
        self.cut = 0                                           # frames cut so far
        self.base: list[Tensor] = []                           # (C,) MFCC / log-mel of each frame cut
        self.emitted = 0

    def _frames(self, frames: Tensor) -> None:
        P = power_spectrum(frames, self.front_end.n_fft, self.window)             # (n, F)
        self.base.extend(frame_features(P, self.front_end))

    def _emit(self, final: bool) -> Tensor:
        """(n, I) the frames whose deltas can be computed now (all of them when `final`)."""
        last = len(self.base) if final else len(self.base) - self.lookahead
        if last <= self.emitted:
            return torch.zeros(0, self.front_end.size, dtype=torch.float32)
        start = max(0, self.emitted - self.lookahead)        # row t reads rows t - 2K .. t + 2K, all real
        block = add_deltas(torch.stack(self.base[start:]), self.front_end.delta_order, self.front_end.delta_width)
        out = block[self.emitted - start: last - start]
        self.emitted = last
        return out.to(torch.float32)

    def push(self, chunk: np.ndarray) -> Tensor:
        """New raw samples (float, [-1, 1)) -> (n, I) the feature frames completed by them."""
        s = torch.as_tensor(np.asarray(chunk, dtype=np.float32))
        if s.numel() == 0:
            return self._emit(final=False)
        a = self.front_end.preemphasis
        first = s[:1] if self.previous is None else s[:1] - a * self.previous
        emphasised = torch.cat([first, s[1:] - a * s[:-1]]) if a else s
        self.previous, self.seen = float(s[-1]), self.seen + s.numel()
        self.samples = torch.cat([self.samples, emphasised])
        n = 0 if len(self.samples) < self.L else 1 + (len(self.samples) - self.L) // self.S
        if n:
            self._frames(self.samples[: (n - 1) * self.S + self.L].unfold(0, self.L, self.S))
            self.samples, self.cut = self.samples[n * self.S:], self.cut + n
        return self._emit(final=False)

    def flush(self) -> Tensor:
        """The remaining frames: the last one zero-padded, the edge frame repeated for the deltas."""
        missing = num_frames(self.seen, self.L, self.S) - self.cut if self.seen else 0
        if missing > 0:
            padded = torch.nn.functional.pad(self.samples, (0, (missing - 1) * self.S + self.L - len(self.samples)))
            self._frames(padded.unfold(0, self.L, self.S)[:missing])
            self.cut += missing
        return self._emit(final=True)


class StreamingTranscriber:
    """Features -> stacked steps -> the model one step at a time -> digits, with `push(chunk)` / `flush()`."""

    def __init__(self, model: Any, front_end: FeatureConfig, *, frame_stack: int,
                 scaler: dict[str, list[float]] | None) -> None:
        from rnnkit.layers import Bidirectional

        self.layers = list(model.layers)
        if any(isinstance(layer, Bidirectional) for layer in self.layers):
            raise ValueError("StreamingTranscriber: a bidirectional model reads the whole utterance backwards too; "
                             "stream a unidirectional CTC run (--no-bidirectional)")
        model.eval()
        self.features = StreamingFeatures(front_end)
        self.frame_stack = frame_stack
        self.mean = torch.tensor(scaler["mean"]) if scaler else None
        self.std = torch.tensor(scaler["std"]) if scaler else None
        self.pending: list[Tensor] = []            # scaled frames waiting to fill a stack
        self.states: dict[int, Any] = {}           # layer index -> the state its core returned last
        self.previous_label: int | None = None
        self.labels: list[int] = []
        self.log_probs: list[Tensor] = []          # (11,) per step, for the tests

    @classmethod
    def from_run(cls, run: Any) -> StreamingTranscriber:
        from rnnkit.tasks.speech.run import front_end_of

        return cls(run.model(), front_end_of(run), frame_stack=int(run.state.get("frame_stack", 1)),
                   scaler=run.state.get("scaler"))

    @property
    def text(self) -> str:
        return " ".join(str(label - 1) for label in self.labels)

    @torch.no_grad()
    def _step(self, x: Tensor) -> Tensor:
        """(1, 1, I) one stacked frame through every layer -> (11,) log-probabilities."""
        from rnnkit.layers import Dropout

        for index, layer in enumerate(self.layers):
            if hasattr(layer, "core"):
                x, self.states[index] = layer.core(x, self.states.get(index))
            elif not isinstance(layer, Dropout):
                x = layer(x)
        return torch.log_softmax(x[0, 0], dim=-1)

    def _read(self, frames: Tensor, final: bool) -> list[int]:
        if self.mean is not None:
            frames = (frames - self.mean) / self.std
        self.pending.extend(frames)
        emitted = []
        while len(self.pending) >= self.frame_stack or (final and self.pending):
            group = self.pending[: self.frame_stack]
            self.pending = self.pending[self.frame_stack:]
            x = torch.cat(group + [torch.zeros_like(group[0])] * (self.frame_stack - len(group)))
            log_probs = self._step(x[None, None])
            self.log_probs.append(log_probs)
            best = int(log_probs.argmax())
            if best != BLANK and best != self.previous_label:
                self.labels.append(best)
                emitted.append(best - 1)
            self.previous_label = best
        return emitted

    def push(self, chunk: np.ndarray) -> list[int]:
        """Raw samples in; the digits recognised in them (often none: a digit needs a few frames)."""
        return self._read(self.features.push(chunk), final=False)

    def flush(self) -> list[int]:
        """End of the stream: the last frames and the digits they complete."""
        return self._read(self.features.flush(), final=True)
