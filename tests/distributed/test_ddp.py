"""Multi-process training through torch.distributed (gloo, loopback): 2 processes take the steps of 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")]


def run(out: Path, *args: str, nproc: int = 1) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, str(WORKER), "--out", str(out), *args]
    if nproc > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                   str(WORKER), "--out", str(out), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def weights(out: Path, rank: int = 0) -> dict[str, torch.Tensor]:
    return load_file(f"{out}.rank{rank}.safetensors")


def history(out: Path) -> str:
    with safe_open(f"{out}.rank0.safetensors", framework="pt") as f:
        return f.metadata()["loss"]


def assert_same(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=atol, msg=key)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "one"
    run(out)
    return out


def test_two_processes_end_with_the_weights_of_one(tmp_path, single):
    out = tmp_path / "two"
    run(out, nproc=2)
    assert_same(weights(out, 0), weights(out, 1), atol=0)       # DDP keeps the ranks in step
    assert_same(weights(out, 0), weights(single), atol=1e-6)    # and they take the 1-process steps (float64)
    one = [float(v) for v in history(single).strip("[]").split(",")]
    two = [float(v) for v in history(out).strip("[]").split(",")]
    assert two == pytest.approx(one, rel=1e-9)                  # the logged loss is reduced across ranks


def test_our_kernels_gradients_reach_the_all_reduce(tmp_path, single):
    """Rank 1 trains on other data: only if its hand-derived gradients are averaged with rank 0's do the two
    ranks keep identical weights (and these differ from the run on unchanged data)."""
    out = tmp_path / "perturbed"
    run(out, "--perturb-rank1", nproc=2)
    assert_same(weights(out, 0), weights(out, 1), atol=0)
    differs = any(not torch.allclose(weights(out)[k], weights(single)[k], atol=1e-3) for k in weights(single))
    assert differs


@pytest.mark.parametrize("first,second", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_across_process_counts(tmp_path, single, first, second):
    backup = tmp_path / "backup"
    out = tmp_path / "resumed"
    run(out, "--backup", str(backup), "--stop-at", "1", nproc=first)
    assert (backup / "backup.safetensors").is_file() and not Path(f"{out}.rank0.safetensors").exists()
    run(out, "--backup", str(backup), nproc=second)
    assert_same(weights(out), weights(single), atol=1e-6)
