"""Per-epoch backup of the CTC training loop, so `rnnkit train --task ctc` survives interruption like the
tasks trained by `fit` (`rnnkit.training.backup.BackupAndRestore`).

After every epoch the loop writes ``<run folder>/backup.safetensors`` atomically (temporary file, fsync,
rename), the same file name `finish_run` removes once the run is done:

    weights/<key>         the model's state_dict after the epoch
    best/<key>            the weights of the best validation loss so far (what the run keeps at the end)
    optimizer/<i>/<key>   Adam's tensors (moments, step counts)
    rng/torch             torch's global generator (dropout)
    rng/loop              the loop's own generator (batch order, SpecAugment masks)
    metadata "state"      JSON: epochs completed, history, best loss, epochs waited, whether training stopped,
                          training seconds so far (the --time-budget clock), Adam's plain state

With the model, the optimizer and both generators restored, the epochs after a resume draw exactly what an
uninterrupted run draws, so both end with the same weights (tests/speech/test_ctc_resume.py).
Nothing in the file is executed: tensors are read by safetensors, the rest by ``json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnkit.training.backup import FILE_NAME, read_backup_file

__all__ = ["CTCLoopState", "read_ctc_backup", "write_ctc_backup"]

FORMAT = "rnnkit.ctc-backup"
FORMAT_VERSION = "1"


@dataclass(kw_only=True)
class CTCLoopState:
    """Everything the CTC loop carries from one epoch to the next (besides the model and the optimizer)."""

    epoch: int = 0                                   # epochs completed
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "val_loss": []})
    best: float = float("inf")                       # best validation loss so far
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    waited: int = 0                                  # epochs since the best one
    stopped: bool = False                            # early stopping or the time budget ended training
    seconds: float = 0.0                             # training seconds before this process started


def write_ctc_backup(folder: str | Path, state: CTCLoopState, *, model: Any, optimizer: torch.optim.Optimizer,
                     generator: torch.Generator) -> Path:
    from safetensors.torch import save_file

    from rnnkit.saving._atomic import atomic_write
    from rnnkit.saving._optimizer_state import split_state

    optimizer_tensors, optimizer_plain = split_state(optimizer.state_dict())
    tensors = {**{f"weights/{k}": v for k, v in model.state_dict().items()},
               **{f"best/{k}": v for k, v in state.best_state.items()}, **optimizer_tensors,
               "rng/torch": torch.get_rng_state(), "rng/loop": generator.get_state()}
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    plain = {"epoch": state.epoch, "history": state.history, "best": state.best if state.best < float("inf") else None,
             "waited": state.waited, "stopped": state.stopped, "seconds": state.seconds,
             "optimizer_state": optimizer_plain}
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "state": json.dumps(plain)}
    return atomic_write(Path(folder) / FILE_NAME, lambda temp: save_file(tensors, temp, metadata=metadata))


def read_ctc_backup(folder: str | Path, *, model: Any, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator) -> CTCLoopState | None:
    """Restore the model, the optimizer and both generators from the folder's backup and return the loop's
    state; None when there is no backup. A damaged backup or one of another model is a ValueError."""
    from rnnkit.saving._optimizer_state import PREFIX, join_state

    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return None
    tensors, plain = read_backup_file(path, owner="ctc backup", format=FORMAT, version=FORMAT_VERSION)
    try:
        weights = {k[8:]: v for k, v in tensors.items() if k.startswith("weights/")}
        expected = model.state_dict()
        if set(weights) != set(expected) or any(weights[k].shape != expected[k].shape for k in expected):
            raise ValueError("its weights do not fit this run's model")
        model.load_state_dict(weights)
        optimizer.load_state_dict(join_state({k: v for k, v in tensors.items() if k.startswith(PREFIX)},
                                             plain["optimizer_state"]))
        torch.set_rng_state(tensors["rng/torch"])
        generator.set_state(tensors["rng/loop"])
        best = plain["best"]
        return CTCLoopState(epoch=int(plain["epoch"]), history={k: list(v) for k, v in plain["history"].items()},
                            best=float("inf") if best is None else float(best),
                            best_state={k[5:]: v for k, v in tensors.items() if k.startswith("best/")},
                            waited=int(plain["waited"]), stopped=bool(plain["stopped"]),
                            seconds=float(plain["seconds"]))
    except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as error:
        raise ValueError(f"ctc backup: cannot resume from {str(path)!r}: {error}; delete it to start the run "
                         f"afresh") from None
