"""Measure one classifier configuration across datasets and seeds, beside 1-NN DTW: the table in docs/results.md.

    python -m rnnkit.tasks.classify.sweep                                   # the defaults, 5 datasets x 3 seeds
    python -m rnnkit.tasks.classify.sweep --set learning_rate=3e-3 --set val_fraction=0 --out old.jsonl

Each run is `train_classifier(ClassifyConfig(data=..., seed=..., **settings))` on one torch thread,
exactly what `rnnkit train --task classify --data <dataset> --seed <seed> [--<setting> ...]` trains.
One JSON line per run goes to `--out` (runs already there are skipped, so a stopped sweep continues);
the markdown table (accuracy per seed, mean, 1-NN DTW, 1-NN Euclidean) is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

__all__ = ["DATASETS", "main", "markdown_table", "run_sweep"]

#: the bundled classification sets: two multivariate (UEA), three univariate (UCR)
DATASETS = ("japanese_vowels", "basic_motions", "arrow_head", "gun_point", "italy_power_demand")


def _parse_setting(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value  # a bare string such as model=gru


def run_sweep(settings: dict[str, Any], *, datasets: tuple[str, ...] = DATASETS, seeds: tuple[int, ...] = (0, 1, 2),
              out: Path | None = None) -> list[dict[str, Any]]:
    """Train every (dataset, seed); returns one record per run (and appends it to `out`)."""
    import torch

    from rnnkit.tasks.classify.config import ClassifyConfig
    from rnnkit.tasks.classify.pipeline import train_classifier
    from rnnkit.tasks.config import config_from_dict

    torch.set_num_threads(1)
    done = {}
    if out is not None and out.is_file():
        for line in out.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["settings"] == settings:
                done[(record["data"], record["seed"])] = record
    records = []
    for data in datasets:
        for seed in seeds:
            if (data, seed) in done:
                records.append(done[(data, seed)])
                continue
            # the baseline does not depend on the seed: run it once per dataset
            baseline = "dtw" if seed == seeds[0] else "none"
            config = config_from_dict(ClassifyConfig, {**settings, "data": data, "seed": seed, "baseline": baseline})
            start = time.perf_counter()
            result = train_classifier(config)
            metrics = result.metrics
            record = {"settings": settings, "data": data, "seed": seed,
                      "accuracy": metrics["test"]["accuracy"], "epochs_run": len(result.history["loss"]),
                      "best_epoch": metrics.get("best_epoch"), "seconds": round(time.perf_counter() - start, 1),
                      "baselines": {k: v.get("accuracy") for k, v in metrics["test"].get("baselines", {}).items()}}
            records.append(record)
            print(json.dumps(record), flush=True)
            if out is not None:
                with out.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
    return records


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def markdown_table(records: list[dict[str, Any]]) -> str:
    """Accuracy per dataset and seed, the mean, and the 1-NN baselines (from the seed that ran them)."""
    seeds = sorted({r["seed"] for r in records})
    rows = ["| dataset | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | 1-NN DTW | 1-NN Euclidean |",
            "|---|" + "---|" * (len(seeds) + 3)]
    for data in dict.fromkeys(r["data"] for r in records):
        runs = {r["seed"]: r for r in records if r["data"] == data}
        accuracies = [runs[s]["accuracy"] for s in seeds if s in runs]
        baselines = next((r["baselines"] for r in runs.values() if r["baselines"]), {})
        rows.append(f"| {data} | " + " | ".join(_cell(runs[s]["accuracy"]) if s in runs else "-" for s in seeds)
                    + f" | {sum(accuracies) / len(accuracies):.4f} | {_cell(baselines.get('1nn_dtw'))} "
                    f"| {_cell(baselines.get('1nn_euclidean'))} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.tasks.classify.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a ClassifyConfig field to change from its default (repeatable)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated bundled dataset names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per run here (and resume)")
    args = parser.parse_args(argv)
    settings = dict(_parse_setting(s) for s in args.set)
    records = run_sweep(settings, datasets=tuple(args.datasets.split(",")),
                        seeds=tuple(int(s) for s in args.seeds.split(",")), out=args.out)
    print(markdown_table(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
