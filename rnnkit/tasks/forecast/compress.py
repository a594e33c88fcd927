"""`rnnkit compress RUN --int8` for a forecasting run: the run's model with int8 weights (rnnkit.compress), scored on
the run's own test span by the same scorer as `rnnkit evaluate`, in a new run folder whose metrics hold the
original's beside its own. No training: the split, scaler, inputs and classical baselines are the run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.tasks.runs import RunFolder, finish_run, open_run, start_run, write_json

__all__ = ["int8_forecast_run"]

# run.json keys that describe the machine or the run's life, rewritten for the new folder
_OWN_KEYS = ("task", "status", "started", "finished", "seed", "python", "torch", "numpy", "rnnkit", "platform",
             "threads")


def int8_forecast_run(run: RunFolder, *, out: str | Path) -> tuple[Path, dict[str, Any]]:
    """(the new run folder, its metrics). The folder's model file holds the dequantized float weights; it loads
    back int8 (``RunFolder.model``), so `rnnkit evaluate` on it scores the int8 model."""
    from rnnkit.compress import dequantize_weights_, quantize_dynamic, weight_bytes
    from rnnkit.tasks.forecast.run import evaluate_forecast_run

    original_scores, _, _ = evaluate_forecast_run(run)
    original = run.model()
    quantized = quantize_dynamic(original)
    compression = {"method": "int8", "float32_bytes": weight_bytes(original), "int8_bytes": weight_bytes(quantized)}
    compression["size_ratio"] = compression["float32_bytes"] / compression["int8_bytes"]
    state = {k: v for k, v in run.state.items() if k not in _OWN_KEYS}
    state.update({"compressed_from": str(run.path), "compression": "int8"})
    folder = start_run(out, task="forecast", config=run.config)
    finish_run(folder, task="forecast", config=run.config, state=state, metrics={}, model=dequantize_weights_(original))
    scores, notes, frame = evaluate_forecast_run(open_run(folder))     # the int8 model, as `rnnkit evaluate` sees it
    frame.to_csv(folder / "test_forecasts.csv")
    metrics = {"test": scores, "notes": notes, "compression": compression,
               "original": {"test": original_scores, "run": str(run.path)}}
    write_json(folder / "metrics.json", metrics)
    return folder, metrics
