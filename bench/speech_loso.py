"""Leave-one-speaker-out on FSDD: one isolated-digit run per held-out speaker (6 folds), the model beside
MFCC mean/std + logistic regression, one thread.

    RNNKIT_DATA_MIRROR=../shared/datasets python bench/speech_loso.py      # writes bench/results/speech_loso.json
    python bench/speech_loso.py '{"speed_perturb": true}' [george,theo]   # other SpeechConfig fields, some folds:
                                                                           # bench/results/speech_loso_speed_perturb.json
    python bench/speech_loso.py '{"normalization": "speaker"}'             # features normalised per speaker:
                                                                           # bench/results/speech_loso_speaker_norm.json

normalization "speaker" (`SpeechConfig.normalization`, `--normalization speaker`): each clip's MFCC+delta frames
minus the mean, over the std, of all frames of its speaker's clips in the split (the training speakers' training
clips; the held-out speaker's own clips, unlabelled: unsupervised speaker adaptation, as cepstral mean and
variance normalisation per speaker is used in ASR) instead of per utterance.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from rnnkit.tasks._config import config_from_dict
from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier
from rnnkit.tasks.speech.config import SPEAKERS

# file-name tags of non-boolean overrides (a boolean field set true is tagged by its name: _speed_perturb)
TAGS = {("normalization", "speaker"): "speaker_norm"}


def main() -> None:
    torch.set_num_threads(1)
    overrides = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    if "speaker_norm" in overrides:
        raise SystemExit("speaker_norm is now SpeechConfig.normalization: run "
                         "python bench/speech_loso.py '{\"normalization\": \"speaker\"}'")
    tag = "".join(f"_{TAGS.get((k, v), k)}" for k, v in overrides.items())
    speakers = sys.argv[2].split(",") if len(sys.argv) > 2 else SPEAKERS
    folds, start = {}, time.perf_counter()
    for speaker in speakers:
        begin = time.perf_counter()
        config = config_from_dict(SpeechConfig, {"split": "speaker", "test_speaker": speaker, **overrides})
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
    tag += "" if list(speakers) == list(SPEAKERS) else "_" + "_".join(speakers)
    path = Path(__file__).parent / "results" / f"speech_loso{tag}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"mean accuracy {mean:.4f} (baseline {baseline:.4f}); written {path}")


if __name__ == "__main__":
    main()
