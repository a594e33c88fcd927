"""`rnnkit train ... --nproc 2`: the same command, two processes through torch.distributed.run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rnnkit.cli import main
from rnnkit.cli._launch import _without_launch_flags


@pytest.mark.slow
def test_train_with_two_processes_writes_one_finished_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCHELASTIC_RUN_ID")}
    done = subprocess.run([sys.executable, "-m", "rnnkit", "train", "-q", "--out", str(tmp_path), "--lookback", "7",
                           "--units", "6", "--epochs", "2", "--nproc", "2"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "done"
    assert (folder / "model.rnnkit").is_file() and (folder / "metrics.json").is_file()
    assert done.stdout.count("run folder:") == 1  # rank 0 alone prints


def test_launch_flags_are_checked_and_stripped(capsys):
    assert main(["train", "--nnodes", "2", "--nproc", "2"]) == 2
    assert "--nnodes > 1 needs --rdzv-endpoint" in capsys.readouterr().err
    assert main(["train", "--nproc", "0"]) == 2
    assert "--nproc and --nnodes must be >= 1" in capsys.readouterr().err
    assert _without_launch_flags(["train", "--nproc", "2", "--epochs", "3", "--rdzv-endpoint=h:1", "-q"]) == [
        "train", "--epochs", "3", "-q"]
