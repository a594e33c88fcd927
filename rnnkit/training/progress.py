"""A small progress display for ``fit``: a live bar on a terminal, one line per epoch, or nothing.

``verbose="auto"`` shows the live bar on a TTY and, as Keras does, one line per epoch otherwise (a log
file or CI output gets no carriage returns, but still shows that training is moving).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "resolve_verbose"]

BAR_WIDTH = 24
REFRESH_SECONDS = 0.1


def resolve_verbose(verbose: int | str, stream: TextIO) -> int:
    """0 silent, 1 live bar, 2 one line per epoch. ``"auto"``: 1 on a TTY, else 2 (as Keras)."""
    if verbose == "auto":
        isatty = getattr(stream, "isatty", None)
        return 1 if callable(isatty) and isatty() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2; got {verbose!r}.")
    return int(verbose)


def format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class Progress:
    def __init__(self, *, verbose: int, epochs: int, steps: int, stream: TextIO | None = None) -> None:
        self.verbose, self.epochs, self.steps = verbose, epochs, steps
        self.stream = stream or sys.stdout
        self._live = verbose == 1 and bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._started = 0.0

    @property
    def live(self) -> bool:
        """Whether :meth:`update` draws anything (a live bar on a terminal)."""
        return self._live

    def epoch_begin(self, epoch: int) -> None:
        self._started = time.monotonic()
        if self.verbose == 1:
            self._write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def update(self, step: int, logs: dict[str, float]) -> None:
        """After batch ``step`` (0-based); redraws at most every REFRESH_SECONDS, and always at the end."""
        if not self._live:
            return
        now = time.monotonic()
        if step + 1 < self.steps and now - self._last_draw < REFRESH_SECONDS:
            return
        self._last_draw = now
        self._write("\r" + self._bar(step + 1) + " - " + format_logs(logs) + "\x1b[K")

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = time.monotonic() - self._started
        if self.verbose == 1:
            line = f"{self._bar(self.steps)} - {seconds:.1f}s - {format_logs(logs)}"
            self._write(f"\r{line}\x1b[K\n" if self._live else f"{line}\n")  # \x1b[K: clear the old bar's tail
        elif self.verbose == 2:
            self._write(f"Epoch {epoch + 1}/{self.epochs} - {seconds:.1f}s - {format_logs(logs)}\n")

    def message(self, text: str) -> None:
        if self.verbose:
            self._write(text + "\n")

    def _bar(self, done: int) -> str:
        filled = BAR_WIDTH * done // max(self.steps, 1)
        arrow = ">" if filled < BAR_WIDTH else ""
        bar = "=" * filled + arrow + "." * (BAR_WIDTH - filled - len(arrow))
        width = len(str(self.steps))
        return f"{done:>{width}}/{self.steps} [{bar}]"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
