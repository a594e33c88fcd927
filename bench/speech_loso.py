"""Leave-one-speaker-out on FSDD: one isolated-digit run per held-out speaker (6 folds), the model beside
MFCC mean/std + logistic regression, one thread.

    RNNKIT_DATA_MIRROR=../shared/datasets python bench/speech_loso.py      # writes bench/results/speech_loso.json
    python bench/speech_loso.py '{"speed_perturb": true}' [george,theo]   # other SpeechConfig fields, some folds:
                                                                           # bench/results/speech_loso_speed_perturb.json
    python bench/speech_loso.py '{"speaker_norm": true}' george             # experiment: features normalised per
                                                                           # speaker instead of per utterance

speaker_norm (an experiment of this script, not a SpeechConfig field): each clip's MFCC+delta frames minus the
mean, over the std, of all frames of its speaker's clips in the split (the training speakers' training clips;
the held-out speaker's own clips, unlabelled: unsupervised speaker adaptation, as cepstral mean and variance
normalisation per speaker is used in ASR) instead of per utterance.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from rnnkit.tasks.speech import SpeechConfig, train_digit_classifier
from rnnkit.tasks.speech.config import SPEAKERS, feature_config
from rnnkit.tasks.speech.data import DigitData, clip_features, load_digits


def speaker_normalised(config: SpeechConfig) -> DigitData:
    """The fold's clips with features normalised over each speaker's clips (see the module docstring)."""
    import dataclasses as dc

    data = load_digits(config)
    raw = dc.replace(feature_config(config), normalize=False)
    clips = data.train_clips + data.test_clips
    frames = {c.path: torch.from_numpy(clip_features(c.path, raw)) for c in clips}
    stats = {}
    for speaker in {c.speaker for c in clips}:
        stacked = torch.cat([frames[c.path] for c in clips if c.speaker == speaker]).double()
        stats[speaker] = (stacked.mean(0), stacked.std(0, unbiased=False) + 1e-5)

    def norm(c):
        mean, std = stats[c.speaker]
        return ((frames[c.path].double() - mean) / std).float().numpy()

    return dc.replace(data, train_features=[norm(c) for c in data.train_clips],
                      test_features=[norm(c) for c in data.test_clips])


def main() -> None:
    torch.set_num_threads(1)
    overrides = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    tag = "".join(f"_{k}" for k in overrides)
    speaker_norm = bool(overrides.pop("speaker_norm", False))
    speakers = sys.argv[2].split(",") if len(sys.argv) > 2 else SPEAKERS
    folds, start = {}, time.perf_counter()
    for speaker in speakers:
        begin = time.perf_counter()
        config = dataclasses.replace(SpeechConfig(split="speaker", test_speaker=speaker), **overrides)
        result = train_digit_classifier(config, data=speaker_normalised(config) if speaker_norm else None)
        test = result.metrics["test"]
        folds[speaker] = {"accuracy": test["accuracy"], "baseline_accuracy": test["baselines"]["mfcc_logistic"]["accuracy"],
                          "best_epoch": result.metrics.get("best_epoch"), "seconds": round(time.perf_counter() - begin, 1)}
        print(speaker, folds[speaker], flush=True)
    mean = sum(f["accuracy"] for f in folds.values()) / len(folds)
    baseline = sum(f["baseline_accuracy"] for f in folds.values()) / len(folds)
    out = {"command": " ".join(["python", *sys.argv]),
           "config": {"split": "speaker", **overrides, **({"speaker_norm": True} if speaker_norm else {})},
           "folds": folds, "mean_accuracy": mean, "mean_baseline_accuracy": baseline,
           "wall_seconds": round(time.perf_counter() - start, 1), "threads": 1}
    tag += "" if list(speakers) == list(SPEAKERS) else "_" + "_".join(speakers)
    path = Path(__file__).parent / "results" / f"speech_loso{tag}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"mean accuracy {mean:.4f} (baseline {baseline:.4f}); written {path}")


if __name__ == "__main__":
    main()
