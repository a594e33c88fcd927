"""report.html: the metrics beside the baselines, the plots embedded, the config and the run's facts, all escaped;
every `rnnkit train` run writes one, and it renders in headless Chromium with every image decoded and no console
message."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.tasks.report import REPORT_FILE, write_run_report


def png_bytes(seed=0) -> bytes:
    from PIL import Image
    import io

    pixels = (np.random.default_rng(seed).random((12, 16, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def run_folder(tmp_path: Path, *, plots=("loss.png", "forecast.png"), metrics=True) -> Path:
    folder = tmp_path / "forecast-demo-20261203-000000"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({
        "task": "forecast", "status": "done", "started": "2026-12-03T00:00:00", "finished": "2026-12-03T00:01:00",
        "seed": 7, "data_source": "<script>alert('x')</script>", "scaler": {"mean": [1.0, 2.0]},
        "input_columns": ["a", "b"]}), encoding="utf-8")
    (folder / "config.toml").write_text('task = "forecast"\nunits = 8\n', encoding="utf-8")
    if metrics:
        (folder / "metrics.json").write_text(json.dumps({
            "notes": ["the model beats every baseline & more"],
            "val": {"model": {"mae": 2.0}},
            "test": {"windows": 219, "model": {"mae": 1.23456789, "mase": 0.9},
                     "naive": {"mae": 2.5, "mase": 1.0}, "ar": {"mae": 1.5, "mase": None},
                     "labels": {"naive": "naive (lag 1)", "ar": "AR(2) + Fourier"},
                     "per_step": list(range(40)), "curve": {"deep": {"deeper": {"x": 1.0}}}},
        }), encoding="utf-8")
    for k, name in enumerate(plots):
        (folder / name).write_bytes(png_bytes(k))
    return folder


def table_rows(page: str, caption_row: str) -> list[list[str]]:
    """The rows (cells' text) of the first table whose first row holds caption_row."""
    for table in re.findall(r"<table>(.*?)</table>", page, flags=re.S):
        rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]
        if rows and caption_row in rows[0]:
            return rows
    raise AssertionError(f"no table with {caption_row!r}")


def test_metrics_table_rows_baselines_labels_and_order(tmp_path):
    page = write_run_report(run_folder(tmp_path)).read_text(encoding="utf-8")
    assert table_rows(page, "mase") == [["", "mae", "mase"], ["model", "1.2346", "0.9"],
                                        ["naive (lag 1)", "2.5", "1"], ["AR(2) + Fourier", "1.5", "—"]]
    assert page.index("<h3>test</h3>") < page.index("<h3>val</h3>")          # test first
    assert "<li>the model beats every baseline &amp; more</li>" in page
    assert "<th>per_step</th><td>40 values, 0 to 39</td>" in page            # a long list summarised
    assert "<h4>curve</h4>\n<h5>deep</h5>" in page and table_rows(page, "x") == [["", "x"], ["deeper", "1"]]   # nested: recursed
    assert 'task = &quot;forecast&quot;\nunits = 8' in page                  # config verbatim
    assert "<th>input_columns</th><td>a, b</td>" in page and "scaler" not in page


def test_every_text_is_escaped_and_plots_are_embedded(tmp_path):
    folder = run_folder(tmp_path)
    page = write_run_report(folder).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)">', page)
    assert [alt for _, alt in images] == ["forecast.png", "loss.png"]
    assert all(base64.b64decode(data) == (folder / alt).read_bytes() for data, alt in images)


def test_unfinished_run_and_bad_folder(tmp_path):
    page = write_run_report(run_folder(tmp_path, plots=(), metrics=False)).read_text(encoding="utf-8")
    assert "has not finished" in page and "<img" not in page
    with pytest.raises(ValueError, match="is not a folder; expected a run folder"):
        write_run_report(tmp_path / "missing")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (Debian: `apt-get install chromium`; .ci/run installs it "
                "where it can): the report's rendering is not checked on this machine")


def render(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(the DOM after load, the console messages) of page in headless Chromium."""
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_renders_in_chromium_with_every_image_and_no_console_message(tmp_path):
    dom, console = render(write_run_report(run_folder(tmp_path)), tmp_path)
    assert console == []
    assert re.search(r'<html[^>]*data-images="2"', dom)
    assert "naive (lag 1)" in dom


def test_chromium_check_sees_a_broken_image(tmp_path):
    """The check can fail: a PNG that does not decode is a console message and is not counted."""
    folder = run_folder(tmp_path, plots=("loss.png",))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a png")
    dom, console = render(write_run_report(folder), tmp_path)
    assert re.search(r'<html[^>]*data-images="1"', dom)
    assert len(console) == 1 and "broken.png did not decode" in console[0]


def test_rnnkit_train_writes_a_report_that_renders(capsys, tmp_path):
    try:
        code = main(["train", "-q", "--out", str(tmp_path / "runs"), "--lookback", "7", "--units", "8", "--epochs",
                     "2", "--batch-size", "64", "--patience", "0"])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 0, capsys.readouterr().err
    (folder,) = (tmp_path / "runs").iterdir()
    page = folder / REPORT_FILE
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    assert f"{metrics['test']['model']['mase']:.5g}" in text and "seasonal naive" in text
    dom, console = render(page, tmp_path)
    assert console == []
    assert re.search(rf'<html[^>]*data-images="{len(list(folder.glob("*.png")))}"', dom)
