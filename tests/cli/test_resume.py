"""Nothing lost: `rnnkit train` killed by SIGINT, SIGTERM or SIGKILL leaves a run folder that
`rnnkit train --resume RUN` finishes with the same final weights as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from rnnkit.cli import main

FORECAST = ["--data", "seattle_weather", "--lookback", "7", "--units", "8", "--epochs", "14", "--patience", "4",
            "--batch-size", "16", "--seed", "2"]
CLASSIFY = ["--task", "classify", "--data", "basic_motions", "--units", "8", "--epochs", "10", "--batch-size", "8",
            "--val-fraction", "0.25", "--patience", "3"]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.rnnkit")


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def backed_up_epochs(folder: Path) -> int:
    path = folder / "backup.safetensors"
    if not path.is_file():
        return 0
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads(f.metadata()["state"])["epoch"]
    except Exception:  # noqa: BLE001 - renamed under us: read it again
        return 0


def start(out: Path, args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "-q", "--out", str(out), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def kill_after(process: subprocess.Popen, out: Path, epochs: int, sig: int) -> Path:
    """Send `sig` once the run's backup holds `epochs` completed epochs."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        folders = [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []
        if folders and backed_up_epochs(folders[0]) >= epochs:
            process.send_signal(sig)
            process.stderr_text = process.communicate(timeout=60)[1]
            return folders[0]
        if process.poll() is not None:
            pytest.fail(f"training ended before it could be interrupted: {process.communicate()[1]}")
        time.sleep(0.02)
    process.kill()
    process.communicate()
    pytest.fail("no backup appeared in time")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    results = {}
    for name, args in (("forecast", FORECAST), ("classify", CLASSIFY)):
        out = tmp_path_factory.mktemp(f"straight-{name}")
        assert main(["train", "-q", "--out", str(out), *args]) == 0
        results[name] = weights(only_folder(out))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("task,sig", [("forecast", signal.SIGKILL), ("forecast", signal.SIGTERM),
                                      ("classify", signal.SIGINT), ("classify", signal.SIGKILL)])
def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, capsys, uninterrupted, task, sig):
    args = FORECAST if task == "forecast" else CLASSIFY
    process = start(tmp_path, args)
    folder = kill_after(process, tmp_path, 2, sig)
    status = json.loads((folder / "run.json").read_text())["status"]
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL and status == "running"
    else:  # SIGINT and SIGTERM: a clean stop that says how to resume
        assert process.returncode == 130, process.stderr_text
        assert status == "interrupted"
        assert f"rnnkit train --resume {folder}" in process.stderr_text
        assert "Traceback" not in process.stderr_text
    assert not (folder / "model.rnnkit").exists() and (folder / "config.toml").is_file()
    assert main(["evaluate", str(folder)]) == 2   # an unfinished run has no model to evaluate yet
    assert "has not finished" in capsys.readouterr().err

    assert main(["train", "-q", "--resume", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"resuming: {folder}" in out
    state = json.loads((folder / "run.json").read_text())
    assert state["status"] == "done" and not (folder / "backup.safetensors").exists()
    straight = uninterrupted[task]
    resumed = weights(folder)
    assert straight.keys() == resumed.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)


def test_resume_refuses_options_and_finished_runs(tmp_path, capsys):
    assert main(["train", "-q", "--out", str(tmp_path), "--lookback", "7", "--units", "4", "--epochs", "1"]) == 0
    folder = only_folder(tmp_path)
    capsys.readouterr()
    assert main(["train", "--resume", str(folder), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--resume continues a run with its own saved config; drop --epochs" in err and "\n" == err[-1]
    assert main(["train", "--resume", str(folder)]) == 2
    assert "has finished already" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_run_folder_is_written_before_training(tmp_path, capsys, monkeypatch):
    """A crash inside training leaves config.toml and run.json (status failed) behind."""
    import rnnkit.tasks.forecast.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(pipeline, "train_forecaster", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        main(["train", "-q", "--out", str(tmp_path), "--epochs", "1"])
    folder = only_folder(tmp_path)
    state = json.loads((folder / "run.json").read_text())
    assert state["status"] == "failed" and "simulated crash" in state["error"]
    assert state["threads"] >= 1 and state["torch_version"] == torch.__version__
    assert "numpy_version" in state and "python_version" in state
    assert (folder / "config.toml").is_file()
    assert f"run folder: {folder}" in capsys.readouterr().out  # -q still names the folder


def test_quiet_run_names_the_folder_and_records_versions(tmp_path, capsys):
    assert main(["train", "-q", "--out", str(tmp_path), "--lookback", "7", "--units", "4", "--epochs", "1",
                 "--threads", "1"]) == 0
    folder = only_folder(tmp_path)
    out = capsys.readouterr().out
    assert out.startswith(f"run folder: {folder}\n")
    state = json.loads((folder / "run.json").read_text())
    assert state["status"] == "done" and state["threads"] == 1
    assert {"rnnkit_version", "torch_version", "numpy_version", "python_version", "compiled_kernels"} <= set(state)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    import rnnkit

    assert capsys.readouterr().out.strip() == f"rnnkit {rnnkit.__version__}"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_handler_is_restored(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    main(["datasets"])
    assert signal.getsignal(signal.SIGTERM) is before


def test_bad_input_leaves_no_run_folder(tmp_path, capsys):
    assert main(["train", "-q", "--out", str(tmp_path), "--target", "no_such_column"]) == 2
    assert "no_such_column" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
