"""Multi-process training on PyTorch's own engine: ``torch.distributed`` with ``DistributedDataParallel``.

Launched under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment), or with ``fit(..., distributed=True)``,
``fit`` runs data-parallel:

* the process group is gloo on CPU, nccl on CUDA (initialised from the environment if not yet);
* the model's forward runs through ``DistributedDataParallel``, whose hooks all-reduce (average) every
  gradient during backward — our hand-derived kernels' gradients included — so every process applies the
  same update; DDP also broadcasts rank 0's initial weights;
* ``batch_size`` is the *global* batch: each of the W processes takes ``batch_size / W`` samples of it. The
  epoch's permutation is drawn from the same ``(seed, epoch)`` generator on every rank (rank 0's seed is
  broadcast) and rank r takes positions r, r + W, ... of it (as ``DistributedSampler`` does; a torch
  ``Dataset`` gets a ``DistributedSampler`` seeded with the fit seed and ``set_epoch`` each epoch). A
  2-process run therefore takes the same steps as a 1-process run with the same ``batch_size``;
* uneven shards (a shorter last batch on some ranks, a user's DataLoader) run under
  ``torch.distributed.algorithms.Join``;
* the epoch's logs (loss means, metrics) are reduced across ranks, so callbacks (EarlyStopping...) decide
  the same on every rank; progress, History plots, CSV logs and checkpoints are written by rank 0 only.

A non-finite loss on one rank poisons its gradients with NaN before backward, so the all-reduced gradient
is non-finite on every rank and all of them stop at the same step (no extra collective that could hang).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["Context", "is_rank_zero", "setup", "world_from_env"]


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    ddp: Any  # the DistributedDataParallel wrapper of the model

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def broadcast_int(self, value: int) -> int:
        tensor = torch.tensor([value], dtype=torch.int64)
        dist.broadcast(tensor, src=0)
        return int(tensor.item())


def world_from_env() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def is_rank_zero() -> bool:
    """True in a single process, and on rank 0 of a process group (where files and progress are written)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def setup(model: Any, distributed: bool | None) -> Context | None:
    """Join (or start) the process group and wrap ``model`` in DDP; None for a single process."""
    wanted = world_from_env() > 1 if distributed is None else bool(distributed)
    if not wanted:
        return None
    if not dist.is_available():
        raise RuntimeError("fit(distributed=True): this torch build has no torch.distributed.")
    if not dist.is_initialized():
        missing = [k for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE") if k not in os.environ]
        if missing:
            raise ValueError(f"fit(distributed=True): no process group and no {', '.join(missing)} in the "
                             "environment; launch with `torchrun --nproc-per-node N script.py` (or "
                             "`rnnkit train ... --nproc N`), or call torch.distributed.init_process_group first.")
        device = model.device
        dist.init_process_group(backend="nccl" if device is not None and device.type == "cuda" else "gloo")
    from torch.nn.parallel import DistributedDataParallel

    device = model.device
    device_ids = [device.index] if device is not None and device.type == "cuda" else None
    ddp = DistributedDataParallel(model, device_ids=device_ids)
    return Context(rank=dist.get_rank(), world=dist.get_world_size(), ddp=ddp)


def reduce_means(context: Context | None, sums: dict[str, float], count: int) -> tuple[dict[str, float], int]:
    """Sum the per-rank sums and counts of the logged values."""
    if context is None:
        return sums, count
    keys = sorted(sums)
    totals = context.all_reduce_sum(torch.tensor([*(sums[k] for k in keys), float(count)], dtype=torch.float64))
    return {k: float(v) for k, v in zip(keys, totals[:-1])}, int(totals[-1])


def sync_metrics(context: Context | None, metrics: list[Any]) -> None:
    if context is None:
        return
    for metric in metrics:
        metric.sync()
