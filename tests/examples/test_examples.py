"""The examples in examples/ run (small sizes) and print what their docstrings promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(args: list[str], cwd: Path, *, torchrun: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCHELASTIC_RUN_ID")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    prefix = [sys.executable]
    if torchrun:
        prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={torchrun}"]
    done = subprocess.run([*prefix, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_subclassed_encoder_decoder_with_a_custom_train_step(tmp_path):
    out = run([str(EXAMPLES / "seq2seq_custom_step.py"), "--small"], tmp_path)
    assert "token_accuracy" in out and "most-frequent-token baseline" in out


def test_dataloader_streamed_from_disk(tmp_path):
    out = run([str(EXAMPLES / "stream_from_disk.py"), "--small"], tmp_path)
    assert "test accuracy" in out and "majority-class baseline" in out


@pytest.mark.slow
def test_ddp_example_under_torchrun(tmp_path):
    out = run([str(EXAMPLES / "ddp_train.py"), "--epochs", "2", "--backup", str(tmp_path / "b")], tmp_path, torchrun=2)
    assert out.count("2 process(es): test MAE") == 1   # rank 0 alone prints
