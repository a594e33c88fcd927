"""``TensorBoard``: a Keras-style callback that writes ``fit``'s logs and the parameters to TensorBoard.

Every epoch, one scalar per key of the epoch logs (``loss``, ``val_loss``, metrics, ``learning_rate`` when a
callback logged it), at step = the epoch's index. Every ``histogram_freq`` epochs, for each parameter p:

* ``weights/<name>``: a histogram of p's values;
* ``gradients/<name>``: a histogram of ∂L/∂p of the epoch's last batch (after clipping, as the optimiser used it);
* ``grad_norm/<name>``: its L2 norm ‖∂L/∂p‖₂ = sqrt(Σ_i (∂L/∂p_i)²), a scalar.

The gradient is the one the last training step left in ``p.grad`` (the next step clears it first). A step that
leaves ``p.grad`` as None (Hessian-free, or a parameter the loss did not reach) has neither, nor has a frozen
parameter (``requires_grad=False``: its ``p.grad`` may be left from before it was frozen). In a distributed run only rank 0 writes. ``tensorboard`` is imported when training begins, so rnnkit
imports without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rnnkit.training.callback import Callback, Logs
from rnnkit.training.distributed import is_rank_zero

__all__ = ["TensorBoard", "summary_writer_class"]


def summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``; an ImportError that says what to install when the
    ``tensorboard`` package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # torch raises ImportError when the tensorboard package is missing
        raise ImportError(f"TensorBoard: the tensorboard package is needed to write logs; "
                          f"run `pip install tensorboard` ({error}).") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Write the epoch logs every epoch and weight / gradient histograms and gradient norms every
    ``histogram_freq`` epochs (0: none) to event files under ``log_dir``. ``update_freq="epoch"``, or an int
    n: also the batch logs every n batches (tags ``batch/<key>``, step = batches seen in this ``fit``). The
    writer is flushed every epoch and closed in ``on_train_end``, which ``fit`` also calls when training stops
    early. View with ``tensorboard --logdir LOG_DIR``.
    """

    def __init__(self, log_dir: str | os.PathLike, *, histogram_freq: int = 1,
                 update_freq: str | int = "epoch") -> None:
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0 (0: no histograms); "
                             f"got {histogram_freq!r}.")
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch' or an int >= 1 (batches); "
                             f"got {update_freq!r}.")
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"TensorBoard: log_dir must be a folder path (str or Path); got {type(log_dir).__name__}.")
        self.log_dir = Path(log_dir)
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise ValueError(f"TensorBoard: log_dir {str(self.log_dir)!r} is a file, expected a folder; "
                             f"pass another path.")
        self.histogram_freq, self.update_freq = histogram_freq, update_freq
        self.writer: Any = None
        self._batches = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        writer_class = summary_writer_class()
        self._batches = 0
        if is_rank_zero():
            self.writer = writer_class(log_dir=str(self.log_dir))

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._batches += 1
        if self.writer is None or self.update_freq == "epoch" or self._batches % self.update_freq:
            return
        for key, value in (logs or {}).items():
            self.writer.add_scalar(f"batch/{key}", float(value), self._batches)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.writer is None:
            return
        for key, value in (logs or {}).items():
            self.writer.add_scalar(key, float(value), epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                self._histogram(f"weights/{name}", p.detach().cpu(), epoch)
                if p.grad is not None and p.requires_grad:   # a frozen p may keep a stale grad from earlier
                    grad = p.grad.detach().cpu()
                    self._histogram(f"gradients/{name}", grad, epoch)
                    self.writer.add_scalar(f"grad_norm/{name}", float(grad.double().norm(2)), epoch)
        self.writer.flush()

    def _histogram(self, tag: str, values: Any, epoch: int) -> None:
        finite = values[values.isfinite()]   # numpy's histogram refuses inf and NaN: bin the finite values
        if finite.numel():
            self.writer.add_histogram(tag, finite, epoch)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None
