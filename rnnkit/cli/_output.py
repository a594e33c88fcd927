"""Plain-text tables the commands print."""

from __future__ import annotations

from typing import Any

__all__ = ["classification_table", "datasets_table", "forecast_table", "verdict"]

_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive"}


def forecast_table(scores: dict[str, Any], *, model_name: str) -> str:
    rows = [f"{'method':<16}{'MAE':>9}{'RMSE':>9}{'sMAPE %':>9}{'MASE':>8}"]
    for key in ("model", "naive", "seasonal_naive"):
        label = model_name if key == "model" else _NAMES[key]
        values = scores.get(key)
        if values is None:
            rows.append(f"{label:<16}{'(not scored: series shorter than one season)':>43}")
            continue
        rows.append(f"{label:<16}{values['mae']:>9.3f}{values['rmse']:>9.3f}{values['smape']:>9.2f}{values['mase']:>8.3f}")
    return "\n".join(rows)


def verdict(scores: dict[str, Any], *, model_name: str) -> str:
    model = scores["model"]["mase"]
    baselines = {k: v["mase"] for k, v in scores.items() if k in ("naive", "seasonal_naive") and v}
    if all(model < v for v in baselines.values()):
        best = min(baselines, key=baselines.get)
        return (f"The {model_name} beats every baseline: MASE {model:.3f} vs {_NAMES[best]} {baselines[best]:.3f} "
                f"({100 * (1 - model / baselines[best]):.1f}% lower error).")
    winners = [k for k, v in baselines.items() if v <= model]
    return (f"The {model_name} does NOT beat {' or '.join(_NAMES[w] for w in winners)} on this test span "
            f"(MASE {model:.3f} vs {min(baselines[w] for w in winners):.3f}). Use the baseline, or try more data, "
            f"covariates or a different lookback. Series close to a random walk (stock prices) rarely beat naive.")


def classification_table(report: dict[str, Any]) -> str:
    rows = [f"{'class':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, values in report["per_class"].items():
        rows.append(f"{name:<16}{values['precision']:>10.3f}{values['recall']:>8.3f}{values['f1']:>8.3f}"
                    f"{values['support']:>9d}")
    rows.append(f"accuracy {report['accuracy']:.4f} on {report['samples']} test sequences")
    return "\n".join(rows)


def datasets_table(infos: list[Any]) -> str:
    rows = [f"{'name':<17}{'task':<10}{'available':<11}source"]
    for info in infos:
        if info.available:
            status, source = "yes", f"{info.provider} (installed)"
        else:
            status, source = "no", f"pip install {info.providers[0]}"
        rows.append(f"{info.name:<17}{info.task:<10}{status:<11}{source}")
        rows.append(f"{'':<17}{info.description}")
    rows.append("Any .csv/.parquet file works too: rnnkit train --data FILE --target COLUMN ...")
    return "\n".join(rows)
