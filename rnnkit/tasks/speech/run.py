"""Save a speech run to its folder; transcribe WAV files with it.

run.json holds the audio front end (`front_end`: the `FeatureConfig` fields), so a run folder alone turns
a WAV at any sample rate into what its model reads:

    >>> run = open_run("runs/speech-fsdd-...")
    >>> transcribe_run(run, ["me_saying_seven.wav"])        # [Transcript(path, text="7", confidence=0.98)]

A run trained with normalization "speaker" reads the files of one call as one speaker's recordings and
normalises them together (`transcribe_run(..., speakers=[...])` for several speakers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit.data import DataError
from rnnkit.data.audio import FeatureConfig
from rnnkit.tasks.classify.plots import plot_confusion_matrix
from rnnkit.tasks.plots import plot_history
from rnnkit.tasks.runs import RunFolder, finish_run, start_run
from rnnkit.tasks.speech.data import DIGITS, speaker_normalised, wav_features
from rnnkit.tasks.speech.model import predict_digits
from rnnkit.tasks.speech.pipeline import SpeechResult

__all__ = ["Transcript", "front_end_of", "save_speech_run", "speaker_normalised_run", "transcribe_run",
           "transcripts_frame"]


@dataclass(frozen=True, kw_only=True)
class Transcript:
    path: str
    text: str          # the digit ("7"), or the digit string of a CTC model ("4 0 7")
    confidence: float  # the probability of the answer (CTC: of the best path / beam)


def front_end_of(run: RunFolder) -> FeatureConfig:
    saved = run.state.get("front_end")
    names = {f.name for f in dataclasses.fields(FeatureConfig)}
    if not isinstance(saved, dict) or set(saved) != names:
        raise DataError(f"{run.path / 'run.json'}: 'front_end' must be an object with the keys {sorted(names)}; got "
                        f"{saved!r:.80}; the run folder looks edited or damaged: train again")
    return FeatureConfig(**saved)


def save_speech_run(result: SpeechResult, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into `folder` (made by `start_run` before training), or a new run folder under `out`."""
    if folder is None:
        if out is None:
            raise TypeError("save_speech_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="speech", config=result.config)
    data = result.data
    state = {"front_end": dataclasses.asdict(data.front_end), "class_names": list(DIGITS)}
    metrics = {**result.metrics, "epochs_run": len(result.history.get("loss", []))}
    finish_run(folder, task="speech", config=result.config, state=state, metrics=metrics, model=result.model)
    predicted = result.test_probabilities.argmax(axis=1)
    pd.DataFrame({"file": [c.path.name for c in data.test_clips], "speaker": [c.speaker for c in data.test_clips],
                  "actual": data.test_labels, "predicted": predicted,
                  "confidence": result.test_probabilities.max(axis=1).round(4)}).to_csv(
        folder / "test_predictions.csv", index=False)
    test = result.metrics["test"]
    plot_confusion_matrix(folder / "confusion_matrix.png", confusion=np.asarray(test["confusion_matrix"]),
                          class_names=DIGITS, title=f"FSDD ({result.config.split} split)\ntest accuracy "
                                                    f"{test['accuracy']:.4f} ({test['samples']} clips)")
    if result.history.get("loss"):
        plot_history(folder / "loss.png", result.history)
    return folder


def _features(paths: Sequence[str | Path], front_end: FeatureConfig) -> list[np.ndarray]:
    if not paths:
        raise DataError("transcribe: give at least one WAV file")
    return [wav_features(path, front_end) for path in paths]


def speaker_normalised_run(run: RunFolder) -> bool:
    """Whether `run` is an isolated-digit run trained with normalization "speaker"."""
    return run.task == "speech" and getattr(run.config, "normalization", "utterance") == "speaker"


def transcribe_run(run: RunFolder, paths: Sequence[str | Path], *, beam_size: int | None = None,
                   speakers: Sequence[str] | None = None) -> list[Transcript]:
    """The digit (isolated-digit run) or digit string (CTC run) spoken in each WAV file.

    A run trained with normalization "speaker" normalises the files over each speaker's files: `speakers`
    names the speaker of each path; None takes all the files as recordings of one speaker (one file alone:
    its own statistics, as per utterance, which such a model was not trained on: give several)."""
    front_end = front_end_of(run)
    features = _features(paths, front_end)
    if speaker_normalised_run(run):
        if speakers is not None and len(speakers) != len(paths):
            raise ValueError(f"transcribe_run: speakers must name one speaker per path ({len(paths)} paths); got "
                             f"{len(speakers)}; pass None to take all the files as one speaker's")
        features = speaker_normalised(features, ["speaker"] * len(paths) if speakers is None else list(speakers))
    elif speakers is not None:
        raise ValueError(f"transcribe_run: speakers applies to runs trained with normalization 'speaker'; {run.path} "
                         f"normalises per utterance: drop speakers")
    model = run.model()
    if run.task == "ctc":
        from rnnkit.data.audio import stack_frames
        from rnnkit.tasks.speech.ctc import transcribe_features

        from rnnkit.tasks.speech.ctc import apply_scaler

        stack, scaler = int(run.state.get("frame_stack", 1)), run.state.get("scaler")
        features = [stack_frames(apply_scaler(torch.from_numpy(f), scaler), stack).numpy() for f in features]
        width = run.config.beam_size if beam_size is None else beam_size
        return [Transcript(path=str(p), text=text, confidence=confidence)
                for p, (text, confidence) in zip(paths, transcribe_features(model, features, beam_size=width))]
    probabilities = predict_digits(model, features)
    return [Transcript(path=str(p), text=DIGITS[int(row.argmax())], confidence=float(row.max()))
            for p, row in zip(paths, probabilities)]


def transcripts_frame(transcripts: Sequence[Transcript]) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.asdict(t) for t in transcripts])


