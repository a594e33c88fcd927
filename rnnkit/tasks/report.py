"""``report.html``: one self-contained page per run folder — the metrics beside the baselines, the plots, the
config and the run's facts.

Written by every ``rnnkit train`` (and ``demo`` / ``lab``) run once it is done, from the files the run folder
already holds, so any task's folder gets one and ``write_run_report(folder)`` can (re)write it later:

* metrics.json, section by section (``test`` first). In a section, entries that are a dict of numbers (the
  model and each baseline, as every task writes them) form one table, a row each, a column per metric; a
  ``labels`` dict, where the task wrote one, names the rows. Other numbers and strings form a key/value table;
  nested sections recurse; lists of numbers longer than ``_LIST_MAX`` are summarised.
* every ``*.png`` of the folder, embedded as a data URI (the page can be moved or mailed alone);
* config.toml verbatim, and the scalar facts of run.json (task, status, times, seed, versions, data source).

All text is escaped with ``html.escape``. One small inline script reports, on the console, an image the browser
could not decode, and marks ``<html data-images="N">`` with the number that did: the test opens the page in
headless Chromium and requires no console message and every image decoded.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["REPORT_FILE", "write_run_report"]

REPORT_FILE = "report.html"
_LIST_MAX = 12     # longer lists of numbers are summarised (count, min, max)
_DEPTH_MAX = 4     # nesting of metric sections shown; deeper ones are summarised

_STYLE = ("body{font-family:sans-serif;max-width:76em;margin:1em auto;padding:0 1em;color:#222}"
          "table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ccc;padding:2px 8px}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4;text-align:left}"
          "tr.model td,tr.model th{font-weight:bold}img{max-width:100%;border:1px solid #eee}"
          "pre{background:#f8f8f8;padding:.6em;overflow:auto}figure{margin:1em 0}")

_CHECK_IMAGES = """<script>
window.addEventListener("load", function () {
  var ok = 0;
  document.querySelectorAll("img").forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { ok += 1; }
    else { console.error("report.html: image " + img.alt + " did not decode"); }
  });
  document.documentElement.setAttribute("data-images", String(ok));
});
</script>"""


def write_run_report(folder: str | Path) -> Path:
    """Write ``folder/report.html`` from the run folder's files (atomically); returns its path. A folder
    without metrics.json (a run that did not finish) gets a page that says so, with what there is."""
    from rnnkit.saving._atomic import atomic_write

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"write_run_report: folder {str(folder)!r} is not a folder; expected a run folder "
                         f"written by `rnnkit train`.")
    state = _read_json(folder / "run.json")
    metrics = _read_json(folder / "metrics.json")
    title = f"rnnkit run {folder.name}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{_e(title)}</title>", f"<style>{_STYLE}</style>", "</head><body>", f"<h1>{_e(title)}</h1>"]
    task, status = state.get("task", "?"), state.get("status", "?")
    parts.append(f"<p>task <b>{_e(task)}</b>, status <b>{_e(status)}</b>"
                 + (f", {_e(state['started'])} to {_e(state['finished'])}" if state.get("started")
                    and state.get("finished") else "") + "</p>")
    parts.append("<h2>Metrics</h2>")
    if metrics:
        notes = metrics.get("notes")
        if isinstance(notes, list) and notes:
            parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
        ordered = sorted((k for k in metrics if k != "notes"), key=lambda k: (k != "test", k != "val"))
        parts.append(_section({k: metrics[k] for k in ordered}, depth=0))
    else:
        parts.append("<p>No metrics.json: the run has not finished (`rnnkit train --resume` continues it).</p>")
    plots = sorted(folder.glob("*.png"))
    if plots:
        parts.append("<h2>Plots</h2>")
        for path in plots:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_e(path.name)}">'
                         f"<figcaption>{_e(path.name)}</figcaption></figure>")
    config = folder / "config.toml"
    if config.is_file():
        parts.append("<h2>Config</h2><p>Repeat the run with <code>rnnkit train --config "
                     f"{_e(str(config))}</code>.</p><pre>{_e(config.read_text(encoding='utf-8'))}</pre>")
    facts = {k: v for k, v in state.items() if _is_scalar(v) or _is_short_list(v)}
    if facts:
        parts.append("<h2>Run</h2>" + _key_values(facts))
    parts += [_CHECK_IMAGES, "</body></html>"]
    text = "\n".join(parts) + "\n"
    path = folder / REPORT_FILE
    atomic_write(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _section(values: dict[str, Any], *, depth: int) -> str:
    """One metrics section: the table of rows (dicts of numbers), the key/value table, then the subsections."""
    labels = values.get("labels") if isinstance(values.get("labels"), dict) else {}
    rows = {k: v for k, v in values.items() if k != "labels" and _is_row(v)}
    scalars = {k: v for k, v in values.items() if k not in rows and k != "labels"
               and (_is_scalar(v) or isinstance(v, list))}
    nested = {k: v for k, v in values.items() if k not in rows and k not in scalars and k != "labels"
              and isinstance(v, dict) and v}
    parts = []
    if rows:
        parts.append(_rows_table(rows, labels))
    if scalars:
        parts.append(_key_values(scalars))
    for key, value in nested.items():
        heading = min(depth + 3, 6)
        parts.append(f"<h{heading}>{_e(key)}</h{heading}>")
        parts.append(_section(value, depth=depth + 1) if depth < _DEPTH_MAX else f"<p>{_e(_summary(value))}</p>")
    return "\n".join(parts)


def _rows_table(rows: dict[str, dict[str, Any]], labels: dict[str, Any]) -> str:
    columns: list[str] = []
    for row in rows.values():
        columns += [c for c in row if c not in columns]
    head = "<tr><th></th>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr>"
    body = []
    for key, row in rows.items():
        name = str(labels.get(key, key))
        cls = ' class="model"' if key == "model" else ""
        cells = "".join(f'<td class="n">{_e(_number(row[c]))}</td>' if c in row else "<td></td>" for c in columns)
        body.append(f"<tr{cls}><th>{_e(name)}</th>{cells}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _key_values(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_text(v))}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _is_row(value: Any) -> bool:
    """A dict of numbers (None for a metric not scored): the model's or a baseline's metrics."""
    return isinstance(value, dict) and bool(value) and all(_is_number(v) for v in value.values()) and any(
        v is not None for v in value.values())


def _is_short_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= _LIST_MAX and all(_is_scalar(v) for v in value)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.5g}"
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list):
        if _is_short_list(value):
            return ", ".join(_text(v) for v in value)
        numbers = [v for v in value if _is_number(v) and v is not None]
        if len(numbers) == len(value) and numbers:
            return f"{len(value)} values, {_number(float(min(numbers)))} to {_number(float(max(numbers)))}"
        return f"{len(value)} entries"
    if value is None:
        return "—"
    return str(value)


def _summary(value: dict[str, Any]) -> str:
    return f"{len(value)} entries: " + ", ".join(map(str, list(value)[:8])) + (" …" if len(value) > 8 else "")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
