"""Leave-one-speaker-out on FSDD: one isolated-digit run per held-out speaker (6 folds), the model beside
MFCC mean/std + logistic regression, one thread.

    RNNKIT_DATA_MIRROR=../shared/datasets python bench/speech_loso.py      # writes bench/results/speech_loso.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier
from rnnkit.tasks.speech.config import SPEAKERS


def main() -> None:
    torch.set_num_threads(1)
    folds, start = {}, time.perf_counter()
    for speaker in SPEAKERS:
        begin = time.perf_counter()
        result = train_digit_classifier(SpeechConfig(split="speaker", test_speaker=speaker))
        test = result.metrics["test"]
        folds[speaker] = {"accuracy": test["accuracy"], "baseline_accuracy": test["baselines"]["mfcc_logistic"]["accuracy"],
                          "best_epoch": result.metrics.get("best_epoch"), "seconds": round(time.perf_counter() - begin, 1)}
        print(speaker, folds[speaker], flush=True)
    mean = sum(f["accuracy"] for f in folds.values()) / len(folds)
    baseline = sum(f["baseline_accuracy"] for f in folds.values()) / len(folds)
    out = {"command": " ".join(["python", *sys.argv]), "config": "SpeechConfig defaults, split='speaker'",
           "folds": folds, "mean_accuracy": mean, "mean_baseline_accuracy": baseline,
           "wall_seconds": round(time.perf_counter() - start, 1), "threads": 1}
    path = Path(__file__).parent / "results" / "speech_loso.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"mean accuracy {mean:.4f} (baseline {baseline:.4f}); written {path}")


if __name__ == "__main__":
    main()
