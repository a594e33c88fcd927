"""`rnnkit evaluate RUN` of a speech run: score its model again, on the run's own test split or on other
labelled recordings.

    >>> report, frame = evaluate_speech_run(open_run("runs/speech-fsdd-..."))            # the run's test clips
    >>> scores, frame = evaluate_ctc_run(open_run("runs/ctc-fsdd-..."), data="mine.csv")  # WER / CER

What `data` may be:

    None or "fsdd"   the run's test split, rebuilt from its config: isolated digits, takes 0-4 of every speaker
                     (or every take of the held-out speaker); CTC, the same generated test strings as training
                     (fixed seed), so the scores equal the run's metrics.json
    a folder         isolated digits only: every WAV in it, named as FSDD's `{digit}_{speaker}_{take}.wav`
    a CSV file       columns `path` (a WAV, relative to the CSV's folder or absolute) and `text` (the digit,
                     or the CTC digit string "4 0 7" or "407"); an optional `speaker` column for per-speaker
                     accuracy

A run trained with normalization "speaker" normalises each speaker's clips together (no labels read): on
its test split per test speaker, as in training; on a folder per speaker of the file names; on a CSV per
value of its `speaker` column, else per speaker of the FSDD file names when every file is so named, else all
the clips as one speaker's (`report["normalization"]` says which).

Isolated digits report accuracy, per class, per speaker and the confusion matrix; CTC runs report WER, CER
and exact strings for greedy and prefix beam-search decoding (the run's beam width).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit.data import DataError
from rnnkit.tasks.runs import RunFolder

__all__ = ["evaluate_ctc_run", "evaluate_speech_run", "labelled_wavs", "normalisation_speakers"]

_FSDD_NAME = re.compile(r"(?P<digit>\d)_(?P<speaker>[A-Za-z]+)_(?P<take>\d+)\.wav")


def labelled_wavs(data: str, *, ctc: bool) -> pd.DataFrame:
    """(path, text, speaker) of the recordings named by `data` (a folder or a CSV, see the module docstring)."""
    where = Path(data)
    if not where.exists():
        raise DataError(f"--data {data!r} does not exist; give 'fsdd' (the run's test split), a CSV of path,text"
                        + ("" if ctc else " or a folder of {digit}_{speaker}_{take}.wav files"))
    if where.is_dir():
        if ctc:
            raise DataError(f"--data {data!r} is a folder; a CTC run is scored on a CSV with columns path and text "
                            f"(the digits spoken, e.g. '4 0 7')")
        rows = []
        for path in sorted(where.glob("*.wav")):
            match = _FSDD_NAME.fullmatch(path.name)
            if match is None:
                raise DataError(f"--data {data!r}: {path.name!r} is not named {{digit}}_{{speaker}}_{{take}}.wav, "
                                f"so its digit is unknown; rename it, or list the files in a CSV of path,text")
            rows.append({"path": str(path), "text": match["digit"], "speaker": match["speaker"]})
        if not rows:
            raise DataError(f"--data {data!r}: the folder holds no .wav files")
        frame = pd.DataFrame(rows)
        frame.attrs["speaker_from"] = "file names"
        return frame
    if where.suffix.lower() != ".csv":
        raise DataError(f"--data {data!r}: expected 'fsdd', a CSV of path,text"
                        + ("" if ctc else " or a folder of WAV files") + f"; got a {where.suffix or 'suffix-less'} file")
    try:
        frame = pd.read_csv(where, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"--data {data!r}: not a readable CSV ({error})") from None
    missing = [c for c in ("path", "text") if c not in frame.columns]
    if missing:
        raise DataError(f"--data {data!r}: no column {' or '.join(map(repr, missing))}; expected columns path and text "
                        f"(and optionally speaker); got {list(frame.columns)}")
    if frame.empty:
        raise DataError(f"--data {data!r} has no rows")
    frame["path"] = [p if Path(p).is_absolute() else str(where.parent / p) for p in frame["path"]]
    speaker_from = "column" if "speaker" in frame.columns else None
    if speaker_from is None:
        frame["speaker"] = "all"
    for i, (path, text) in enumerate(zip(frame["path"], frame["text"])):
        digits = text.replace(" ", "")
        if not digits.isdigit() or not digits.isascii() or (not ctc and len(digits) != 1):
            expected = "digits 0-9 ('4 0 7' or '407')" if ctc else "one digit 0-9"
            raise DataError(f"--data {data!r}: row {i + 1} (after the header) has text {text!r}; expected {expected}")
        if not Path(path).is_file():
            raise DataError(f"--data {data!r}: row {i + 1} names {path!r}, which does not exist")
    frame["text"] = [" ".join(t.replace(" ", "")) for t in frame["text"]]
    frame = frame[["path", "text", "speaker"]].reset_index(drop=True)
    frame.attrs["speaker_from"] = speaker_from      # where `speaker` came from: None when the CSV has no such column
    return frame


def _speaker_count(speakers) -> str:
    n = len(set(speakers))
    return f"{n} speaker" + ("" if n == 1 else "s")


def normalisation_speakers(frame: pd.DataFrame, data: str) -> tuple[list[str], str]:
    """(the speaker of each row, a sentence saying how they were found) for a speaker-normalised run scored
    on the `labelled_wavs` of `data`."""
    source = frame.attrs.get("speaker_from")
    if source == "column":
        empty = [i + 1 for i, s in enumerate(frame["speaker"]) if not s.strip()]
        if empty:
            raise DataError(f"--data {data!r}: row {empty[0]} (after the header) has an empty speaker; the run "
                            f"normalises each speaker's clips together, so every row needs one: fill the speaker "
                            f"column in, or drop it to take the speakers from FSDD file names")
        speakers = list(frame["speaker"])
        return speakers, f"normalised per speaker of the CSV's speaker column ({_speaker_count(speakers)})"
    if source == "file names":
        speakers = list(frame["speaker"])
        return speakers, f"normalised per speaker of the file names ({_speaker_count(speakers)})"
    names = [Path(p).name for p in frame["path"]]
    matches = [_FSDD_NAME.fullmatch(name) for name in names]
    if all(matches):
        speakers = [m["speaker"] for m in matches]
        return speakers, (f"normalised per speaker of the FSDD file names ({_speaker_count(speakers)}; the CSV "
                          f"has no speaker column)")
    odd = names[matches.index(None)]
    return ["all"] * len(frame), (f"all {len(frame)} clips normalised together as one speaker's: the CSV has no "
                                  f"speaker column and {odd!r} is not named {{digit}}_{{speaker}}_{{take}}.wav; add a "
                                  f"speaker column if the clips are of several speakers")


def evaluate_speech_run(run: RunFolder, data: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """(report: accuracy, per_class, per_speaker, confusion_matrix, samples; one row per clip) of an
    isolated-digit run on its test split or on `data`."""
    from rnnkit.tasks.speech.data import DIGITS, load_digits, speaker_normalised, wav_features
    from rnnkit.tasks.speech.model import predict_digits
    from rnnkit.tasks.speech.pipeline import digit_report
    from rnnkit.tasks.speech.run import front_end_of, speaker_normalised_run

    front_end, normalization = front_end_of(run), None
    if data in (None, run.config.data):
        digits = load_digits(run.config)              # with normalization "speaker": per test speaker, as trained
        if digits.front_end != front_end:
            raise DataError(f"{run.path / 'run.json'}: its front end differs from its config's; the run folder "
                            f"looks edited: train again")
        frame = pd.DataFrame({"path": [str(c.path) for c in digits.test_clips],
                              "text": [str(c.digit) for c in digits.test_clips],
                              "speaker": [c.speaker for c in digits.test_clips]})
        features = digits.test_features
        if speaker_normalised_run(run):
            normalization = f"normalised per speaker of the test split ({_speaker_count(frame['speaker'])})"
    else:
        frame = labelled_wavs(data, ctc=False)
        features = [wav_features(p, front_end) for p in frame["path"]]
        if speaker_normalised_run(run):
            speakers, normalization = normalisation_speakers(frame, data)
            features = speaker_normalised(features, speakers)
    probabilities = predict_digits(run.model(), features)
    labels, predicted = frame["text"].astype(int).to_numpy(), probabilities.argmax(axis=1)
    report = digit_report(labels, predicted, list(frame["speaker"]))
    if normalization is not None:
        report["normalization"] = normalization
    out = pd.DataFrame({"file": [Path(p).name for p in frame["path"]], "speaker": frame["speaker"],
                        "actual": labels, "predicted": [DIGITS[i] for i in predicted],
                        "confidence": probabilities.max(axis=1).round(4)})
    return report, out


def evaluate_ctc_run(run: RunFolder, data: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """({decoding: {wer, cer, string_accuracy, utterances}}, one row per utterance) of a CTC run on its
    generated test strings or on `data`."""
    from rnnkit.data.audio import read_wav, stack_frames
    from rnnkit.tasks.speech.ctc import TEST_SEED, _split_clips, apply_scaler, ctc_scores, transcribe_features
    from rnnkit.tasks.speech.connected import make_strings
    from rnnkit.tasks.speech.run import front_end_of

    config, front_end = run.config, front_end_of(run)
    stack, scaler = int(run.state.get("frame_stack", 1)), run.state.get("scaler")
    if data in (None, config.data):
        _, test_clips = _split_clips(config)
        strings = make_strings(test_clips, count=config.test_strings, seed=TEST_SEED, min_digits=config.min_digits,
                               max_digits=config.max_digits)
        signals = [s.signal for s in strings]
        frame = pd.DataFrame({"path": [""] * len(strings), "text": [s.text for s in strings],
                              "speaker": [s.speaker for s in strings]})
    else:
        frame = labelled_wavs(data, ctc=True)
        signals = [read_wav(p, sample_rate=front_end.sample_rate) for p in frame["path"]]
    from rnnkit.data.audio import features as compute

    inputs = [stack_frames(apply_scaler(compute(torch.from_numpy(np.asarray(s)), front_end), scaler), stack).numpy()
              for s in signals]
    model = run.model()
    references = list(frame["text"])
    transcripts = {"greedy": [t for t, _ in transcribe_features(model, inputs, beam_size=1)],
                   f"beam {config.beam_size}": [t for t, _ in transcribe_features(model, inputs,
                                                                                   beam_size=config.beam_size)]}
    scores = {name: ctc_scores(references, texts) for name, texts in transcripts.items()}
    out = pd.DataFrame({"path": frame["path"], "speaker": frame["speaker"], "reference": references, **transcripts})
    if data in (None, config.data):
        out = out.drop(columns="path")
    return scores, out
