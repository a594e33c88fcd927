"""`rnnkit train ... --nproc N`: the same command, data-parallel over N processes through `torch.distributed.run`.

The command re-launches itself under torchrun (one machine: `--standalone`; several: `--nnodes`, `--node-rank`,
`--rdzv-endpoint`, the same command on every machine). Each worker joins the gloo process group; rank 0
creates the run folder and tells the others its path; every rank trains (``fit`` sees the group and runs
DDP); rank 0 alone prints and writes the run's files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

__all__ = ["LAUNCH_FLAGS", "add_launch_options", "add_watch_options", "launch", "share_folder", "under_torchrun", "worker_setup"]

LAUNCH_FLAGS = ("--nproc", "--nnodes", "--node-rank", "--rdzv-endpoint")


def add_launch_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several processes (torch.distributed, DistributedDataParallel)")
    group.add_argument("--nproc", type=int, default=1, metavar="N",
                       help="processes on this machine (default 1); --batch-size stays the global batch")
    group.add_argument("--nnodes", type=int, default=1, metavar="M", help="machines taking part (default 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="K", help="this machine's index, 0 .. M-1")
    group.add_argument("--rdzv-endpoint", default=None, metavar="HOST:PORT",
                       help="where the machines meet (machine 0's address and a free port), with --nnodes > 1")


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write TensorBoard logs (epoch scalars, weight and gradient histograms, gradient "
                        "norms) to DIR/<run name>; view with `tensorboard --logdir DIR` (needs `pip install tensorboard`)")


def under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run this command again as `python -m torch.distributed.run ... -m rnnkit <argv without launch flags>`."""
    from rnnkit.data import DataError

    if args.nproc < 1 or args.nnodes < 1:
        raise DataError(f"--nproc and --nnodes must be >= 1; got --nproc {args.nproc} --nnodes {args.nnodes}")
    if args.nnodes > 1 and not args.rdzv_endpoint:
        raise DataError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (machine 0's address and a free port), "
                        "the same on every machine")
    if not 0 <= args.node_rank < args.nnodes:
        raise DataError(f"--node-rank must be in 0 .. {args.nnodes - 1}; got {args.node_rank}")
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.nproc}"]
    if args.nnodes == 1:
        command.append("--standalone")
    else:
        command += [f"--nnodes={args.nnodes}", f"--node-rank={args.node_rank}", "--rdzv-backend=c10d",
                    f"--rdzv-endpoint={args.rdzv_endpoint}"]
    command += ["-m", "rnnkit", *_without_launch_flags(argv)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    return subprocess.run(command, env=env, check=False).returncode


def _without_launch_flags(argv: list[str]) -> list[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
            continue
        name = item.split("=", 1)[0]
        if name in LAUNCH_FLAGS:
            skip = "=" not in item
            continue
        out.append(item)
    return out


def worker_setup() -> int:
    """In a torchrun worker: join the process group (gloo); silence stdout off rank 0. Returns the rank."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    rank = dist.get_rank()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the worker
    return rank


def share_folder(folder: object) -> str:
    """Rank 0's run folder path, on every rank."""
    import torch.distributed as dist

    box = [str(folder) if folder is not None else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
