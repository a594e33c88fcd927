"""Text-classifier settings on the fine-food reviews: test accuracy and macro-F1 of each, baselines skipped.

    python bench/text_settings.py '{}' '{"pooling": "mean"}' '{"units": 64, "embedding_size": 64, "seeds": [0, 1, 2]}'

Each argument is a JSON object of `TextConfig` fields (plus "seeds", default [0]); one JSON line per run:
the fields, seed, test accuracy and macro-F1, the best epoch and the training seconds. 1 thread. The
baselines do not depend on these fields: `rnnkit train --task text` prints them (docs/results.md).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import torch

from rnnkit.tasks.text import pipeline
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.text.data import load_texts


def main(argv: list[str]) -> None:
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__)
        return
    torch.set_num_threads(1)
    pipeline._baselines = lambda *args, **kwargs: {}   # the same for every setting; printed by the CLI run
    data = load_texts(TextConfig())
    for spec in [json.loads(arg) for arg in argv] or [{}]:
        seeds = spec.pop("seeds", [0])
        for seed in seeds:
            config = dataclasses.replace(TextConfig(), seed=seed, **spec)
            start = time.time()
            metrics = pipeline.train_text_classifier(config, data=data).metrics
            print(json.dumps({**spec, "seed": seed, "accuracy": round(metrics["test"]["accuracy"], 4),
                              "macro_f1": round(metrics["test"]["macro_f1"], 4), "best_epoch": metrics.get("best_epoch"),
                              "train_seconds": metrics["train_seconds"], "wall_seconds": round(time.time() - start, 1)}),
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
