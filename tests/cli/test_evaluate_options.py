"""`rnnkit evaluate --span` chooses what a forecaster is scored on; --time-format reaches --data."""

from __future__ import annotations

import json

from rnnkit.cli import main


def test_span_all_scores_every_window(tmp_path, capsys):
    assert main(["train", "-q", "--out", str(tmp_path), "--lookback", "7", "--units", "4", "--epochs", "1"]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    capsys.readouterr()
    assert main(["evaluate", str(folder), "--span", "test"]) == 0
    test_out = capsys.readouterr().out
    assert main(["evaluate", str(folder), "--span", "all"]) == 0
    all_out = capsys.readouterr().out
    test_windows = json.loads((folder / "metrics.json").read_text())["test"]["windows"]
    assert f"{test_windows} windows" in test_out or str(test_windows) in test_out
    assert all_out != test_out
    import pytest

    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(folder), "--span", "half"])
    assert exit_.value.code == 2 and "invalid choice: 'half'" in capsys.readouterr().err


def test_ts_files_and_bundled_names_pick_the_classify_task():
    from rnnkit.cli.commands import _task_of

    assert _task_of("data/GunPoint_TRAIN.ts") == "classify"
    assert _task_of("GunPoint") == "classify" and _task_of("seattle-weather") == "forecast"
    assert _task_of("sales.csv") is None
