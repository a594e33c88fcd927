"""Leave-one-speaker-out on FSDD: one isolated-digit run per held-out speaker (6 folds), the model beside
MFCC mean/std + logistic regression, one thread.

    RNNKIT_DATA_MIRROR=../shared/datasets python bench/speech_loso.py      # writes bench/results/speech_loso.json
    python bench/speech_loso.py '{"speed_perturb": true}' [george,theo]   # other SpeechConfig fields, some folds:
                                                                           # bench/results/speech_loso_speed_perturb.json
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier
from rnnkit.tasks.speech.config import SPEAKERS


def main() -> None:
    torch.set_num_threads(1)
    overrides = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    speakers = sys.argv[2].split(",") if len(sys.argv) > 2 else SPEAKERS
    folds, start = {}, time.perf_counter()
    for speaker in speakers:
        begin = time.perf_counter()
        config = dataclasses.replace(SpeechConfig(split="speaker", test_speaker=speaker), **overrides)
        result = train_digit_classifier(config)
        test = result.metrics["test"]
        folds[speaker] = {"accuracy": test["accuracy"], "baseline_accuracy": test["baselines"]["mfcc_logistic"]["accuracy"],
                          "best_epoch": result.metrics.get("best_epoch"), "seconds": round(time.perf_counter() - begin, 1)}
        print(speaker, folds[speaker], flush=True)
    mean = sum(f["accuracy"] for f in folds.values()) / len(folds)
    baseline = sum(f["baseline_accuracy"] for f in folds.values()) / len(folds)
    out = {"command": " ".join(["python", *sys.argv]), "config": {"split": "speaker", **overrides},
           "folds": folds, "mean_accuracy": mean, "mean_baseline_accuracy": baseline,
           "wall_seconds": round(time.perf_counter() - start, 1), "threads": 1}
    tag = "".join(f"_{k}" for k in overrides) + ("" if speakers == SPEAKERS else "_" + "_".join(speakers))
    path = Path(__file__).parent / "results" / f"speech_loso{tag}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"mean accuracy {mean:.4f} (baseline {baseline:.4f}); written {path}")


if __name__ == "__main__":
    main()
