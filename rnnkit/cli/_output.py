"""Plain-text tables the commands print."""

from __future__ import annotations

from typing import Any

from rnnkit.data._errors import install_command

__all__ = ["classification_table", "classification_verdict", "datasets_table", "forecast_table", "text_table",
           "text_verdict", "verdict"]

_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive", "ridge": "ridge AR",
          "ar_fourier": "AR + Fourier"}
_BASELINES = ("naive", "seasonal_naive", "ridge", "ar_fourier")  # rnnkit.tasks.forecast.baselines.BASELINES


def _label(scores: dict[str, Any], key: str) -> str:
    return scores.get("labels", {}).get(key, _NAMES[key])


def forecast_table(scores: dict[str, Any], *, model_name: str) -> str:
    """Model and baselines: MAE, RMSE, sMAPE, MASE (and MASE_m when the season m is known)."""
    lag = scores.get("mase_seasonal_lag")
    keys = ["model", *(k for k in _BASELINES if k in scores)]
    labels = {k: model_name if k == "model" else _label(scores, k) for k in keys}
    width = max(16, *(len(v) + 2 for v in labels.values()))
    seasonal = f"MASE m={lag}" if lag else ""
    rows = [f"{'method':<{width}}{'MAE':>9}{'RMSE':>9}{'sMAPE %':>9}{'MASE':>8}{seasonal:>12}".rstrip()]
    for key in keys:
        values = scores.get(key)
        if values is None:
            reason = scores.get("unscored", {}).get(key, "not scored: series shorter than one season")
            rows.append(f"{labels[key]:<{width}}{reason}")
            continue
        line = (f"{labels[key]:<{width}}{values['mae']:>9.3f}{values['rmse']:>9.3f}{values['smape']:>9.2f}"
                f"{values['mase']:>8.3f}")
        rows.append(line + (f"{values['mase_seasonal']:>12.3f}" if lag and "mase_seasonal" in values else ""))
    if lag:
        rows.append(f"MASE: MAE / in-sample MAE of the one-step naive forecast; MASE m={lag}: MAE / in-sample MAE "
                    f"of the seasonal naive (lag {lag}) (Hyndman & Koehler 2006)")
    return "\n".join(rows)


def verdict(scores: dict[str, Any], *, model_name: str) -> str:
    """One line comparing the model with the best scored baseline; a baseline not scored is named."""
    model = scores["model"]["mase"]
    baselines = {k: scores[k]["mase"] for k in _BASELINES if scores.get(k)}
    unscored = [k for k in _BASELINES if k in scores and not scores.get(k)]
    missing = ("; not scored: " + ", ".join(f"{_label(scores, k)} ({scores.get('unscored', {}).get(k, 'not scored')})"
                                           for k in unscored)) if unscored else ""
    best = min(baselines, key=baselines.get)
    if model < baselines[best]:
        every = "every baseline" if not unscored else "every scored baseline"
        gain = 100 * (1 - model / baselines[best])
        small = " - a margin under 1%, which another seed may not keep" if gain < 1 else ""
        return (f"The {model_name} beats {every}: MASE {model:.3f} vs the best, {_label(scores, best)}, "
                f"{baselines[best]:.3f} ({gain:.1f}% lower error{small}){missing}.")
    advice = (" Series close to a random walk (stock prices) rarely beat naive." if best == "naive" else "")
    return (f"The {model_name} does NOT beat the best baseline, {_label(scores, best)} (MASE {model:.3f} vs "
            f"{baselines[best]:.3f}){missing}. Use the baseline, or try more data, covariates or a different "
            f"lookback.{advice}")


def classification_table(report: dict[str, Any], *, model_name: str = "model") -> str:
    rows = [f"{'class':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, values in report["per_class"].items():
        rows.append(f"{name:<16}{values['precision']:>10.3f}{values['recall']:>8.3f}{values['f1']:>8.3f}"
                    f"{values['support']:>9d}")
    rows.append(f"accuracy {report['accuracy']:.4f} on {report['samples']} test sequences")
    baselines = report.get("baselines")
    if baselines:
        rows.append("beside it, 1-nearest-neighbour on the training sequences (same test sequences):")
        for entry in sorted(baselines.values(), key=lambda e: e["method"]):
            if entry.get("accuracy") is None:
                rows.append(f"  {entry['method']:<24}not run: {entry.get('skipped', '')}")
                continue
            extra = "; ".join(x for x in (f"{entry['seconds']:.1f} s" if "seconds" in entry else "", entry.get("note", "")) if x)
            rows.append(f"  {entry['method']:<24}accuracy {entry['accuracy']:.4f}" + (f"  ({extra})" if extra else ""))
        rows.append(classification_verdict(report, model_name=model_name))
    return "\n".join(rows)


def classification_verdict(report: dict[str, Any], *, model_name: str = "model") -> str:
    """One line: does the model beat the best 1-NN baseline on the test sequences?"""
    scored = [e for e in report["baselines"].values() if e.get("accuracy") is not None]
    best = max(scored, key=lambda e: e["accuracy"])
    model = report["accuracy"]
    supports = [v["support"] for v in report["per_class"].values()]
    majority = max(supports) / report["samples"] if supports and report["samples"] else 0.0
    if model <= majority:
        return (f"The {model_name} is no better than always answering the most frequent class (accuracy {model:.4f} "
                f"vs {majority:.4f}); {best['method']} reaches {best['accuracy']:.4f}. Use the baseline, or compare "
                f"settings as docs/results.md does (learning rate, epochs, GRU, bidirectional).")
    if model > best["accuracy"]:
        return f"The {model_name} beats every baseline: accuracy {model:.4f} vs {best['method']} {best['accuracy']:.4f}."
    return (f"The {model_name} does NOT beat {best['method']} (accuracy {model:.4f} vs {best['accuracy']:.4f}). "
            f"Use the baseline, or compare settings as docs/results.md does (learning rate, epochs, GRU, "
            f"bidirectional).")


def text_table(report: dict[str, Any], *, model_name: str = "model") -> str:
    """A text classifier and its baselines: accuracy, macro-F1, ROC-AUC (two classes); per class; a verdict."""
    auc = "roc_auc" in report
    rows = [f"{'method':<32}{'accuracy':>9}{'macro-F1':>10}" + (f"{'ROC-AUC':>9}" if auc else "")]

    def line(name: str, entry: dict[str, Any], extra: str = "") -> str:
        score = f"{name:<32}{entry['accuracy']:>9.4f}{entry['macro_f1']:>10.4f}"
        if auc:
            score += f"{entry['roc_auc']:>9.4f}" if entry.get("roc_auc") is not None else f"{'-':>9}"
        return score + (f"  ({extra})" if extra else "")

    rows.append(line(model_name, report))
    baselines = report.get("baselines", {})
    for entry in baselines.values():
        extra = "; ".join(x for x in (entry.get("note", ""), f"{entry['seconds']:.1f} s" if "seconds" in entry else "")
                          if x)
        rows.append(line(entry["method"], entry, extra))
    rows.append(f"on {report['samples']} test texts; {model_name} per class:")
    for name, values in report["per_class"].items():
        rows.append(f"  {name:<16}precision {values['precision']:.3f}  recall {values['recall']:.3f}  "
                    f"f1 {values['f1']:.3f}  support {values['support']}")
    best = baselines.get("tfidf_logistic")
    if best is not None:
        rows.append(text_verdict(report, best, model_name=model_name))
    return "\n".join(rows)


def text_verdict(report: dict[str, Any], baseline: dict[str, Any], *, model_name: str) -> str:
    """One line: does the model beat TF-IDF + logistic regression in accuracy and in macro-F1?"""
    pairs = (f"accuracy {report['accuracy']:.4f} vs {baseline['accuracy']:.4f}, "
             f"macro-F1 {report['macro_f1']:.4f} vs {baseline['macro_f1']:.4f}")
    wins = [report[k] > baseline[k] for k in ("accuracy", "macro_f1")]
    if all(wins):
        return f"The {model_name} beats {baseline['method']} in accuracy and macro-F1 ({pairs})."
    lost = " and ".join(k for k, won in zip(("accuracy", "macro-F1"), wins) if not won)
    return (f"The {model_name} does NOT beat {baseline['method']} in {lost} ({pairs}). Use the baseline, or compare "
            f"settings as docs/results.md does (units, dropout, GRU vs LSTM, epochs).")


def datasets_table(infos: list[Any], *, remote: list[tuple[Any, Any]] = (), cache: Any = None,
                   mirror: str | None = None) -> str:
    """The bundled datasets (`infos`: DatasetInfo), then the remote ones (`remote`: (RemoteDataset,
    CacheStatus) pairs) with their licence, size and how much of each is in the `cache` folder."""
    width = max(17, *(len(info.name) + 2 for info in infos), *(len(dataset.name) + 2 for dataset, _ in remote))
    rows = [f"{'name':<{width}}{'task':<10}{'available':<11}source"]
    for info in infos:
        if info.available:
            status, source = "yes", f"{info.provider} (installed)"
        else:
            status, source = "no", install_command(info.providers[0])
        rows.append(f"{info.name:<{width}}{info.task:<10}{status:<11}{source}")
        rows.append(f"{'':<{width}}{info.description}")
    rows.append("Any .csv/.parquet file works too: rnnkit train --data FILE --target COLUMN ...")
    if remote:
        rows += ["", f"Fetched from their sources into the cache {cache} (set by $RNNKIT_DATA_DIR); mirror: "
                 + (f"{mirror} ($RNNKIT_DATA_MIRROR)" if mirror else "none ($RNNKIT_DATA_MIRROR is unset)"),
                 f"{'name':<{width}}{'kind':<10}{'size':>9}  {'cached':<13}licence"]
        for dataset, status in remote:
            cached = ("yes" if status.complete else "no" if not status.cached_files
                      else f"{status.cached_files}/{status.total_files} files")
            rows.append(f"{dataset.name:<{width}}{dataset.kind:<10}{dataset.size / 1e6:>6.1f} MB  {cached:<13}"
                        f"{dataset.licence}")
            rows.append(f"{'':<{width}}{dataset.description}")
        rows.append("Fetch one ahead of time (or on an offline machine, with a mirror): rnnkit datasets --fetch NAME")
    return "\n".join(rows)
