"""`rnnkit compress RUN --int8` for forecast and text runs: the run's model with int8 weights (rnnkit.compress), scored
on the run's own test data by the same scorer as `rnnkit evaluate`, in a new run folder whose metrics hold the
original's beside its own. No training: the split, scaler, vocabulary and baselines are the run's.
(Classification runs go through rnnkit.tasks.classify.compress, with pruning and distillation.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rnnkit.tasks.runs import RunFolder, finish_run, open_run, run_facts, start_run, write_json

__all__ = ["INT8_TASKS", "int8_run"]


def _score_forecast(run: RunFolder, folder: Path) -> dict[str, Any]:
    from rnnkit.tasks.forecast.run import evaluate_forecast_run

    scores, notes, frame = evaluate_forecast_run(run)
    frame.to_csv(folder / "test_forecasts.csv")
    return {**scores, "notes": notes}


def _score_text(run: RunFolder, folder: Path) -> dict[str, Any]:
    from rnnkit.tasks.text.run import evaluate_text_run

    report, frame = evaluate_text_run(run)
    frame.to_csv(folder / "test_predictions.csv", index=False)
    return report


# task -> its `rnnkit evaluate` scorer (writing the predictions into the folder given)
INT8_TASKS: dict[str, Callable[[RunFolder, Path], dict[str, Any]]] = {"forecast": _score_forecast, "text": _score_text}


def int8_run(run: RunFolder, *, out: str | Path) -> tuple[Path, dict[str, Any]]:
    """(the new run folder, its metrics). The folder's model file holds the dequantized float weights; it loads
    back int8 (``RunFolder.model``), so `rnnkit evaluate` on it scores the int8 model."""
    import tempfile

    from rnnkit.compress import dequantize_weights_, quantize_dynamic, weight_bytes

    score = INT8_TASKS[run.task]
    with tempfile.TemporaryDirectory() as scratch:                      # the original's predictions are not kept
        original_scores = score(run, Path(scratch))
    original = run.model()
    quantized = quantize_dynamic(original)
    compression = {"method": "int8", "float32_bytes": weight_bytes(original), "int8_bytes": weight_bytes(quantized)}
    compression["size_ratio"] = compression["float32_bytes"] / compression["int8_bytes"]
    state = run_facts(run.state)
    state.update({"compressed_from": str(run.path), "compression": "int8"})
    folder = start_run(out, task=run.task, config=run.config)
    finish_run(folder, task=run.task, config=run.config, state=state, metrics={}, model=dequantize_weights_(original))
    scores = score(open_run(folder), folder)                           # the int8 model, as `rnnkit evaluate` sees it
    metrics = {"test": scores, "compression": compression, "original": {"test": original_scores, "run": str(run.path)}}
    write_json(folder / "metrics.json", metrics)
    return folder, metrics
