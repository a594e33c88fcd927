"""The speech commands: train (`rnnkit train --task speech|ctc`), `rnnkit evaluate RUN [--data ...]` of a speech
run, `rnnkit transcribe RUN file.wav ...`, `rnnkit demo speech`."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _run_training, _say, _verbose
from rnnkit.data import DataError
from rnnkit.tasks.speech.config import SpeechConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["DEMO_SPEECH_CONFIG", "add_transcribe_parser", "demo_speech", "evaluate_speech", "train_ctc", "train_speech",
           "transcribe"]

#: the speech demo: isolated digits, the usual split, the defaults (docs/results.md)
DEMO_SPEECH_CONFIG = SpeechConfig()


def model_name(config: Any) -> str:
    cell = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}[config.model]
    return f"{'Bi' if config.bidirectional else ''}{cell}"


def train_speech(config: SpeechConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.speech.pipeline import train_digit_classifier
    from rnnkit.tasks.speech.run import save_speech_run

    start = time.perf_counter()
    result = train_digit_classifier(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_speech_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    split = "takes 0-4 of every speaker" if config.split == "usual" else f"every take of {config.test_speaker}"
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    _say(args, f"\nFSDD isolated digits: {metrics['train_clips']} train + {metrics['val_clips']} validation / "
               f"{test['samples']} test clips ({split}); {result.data.front_end.size} features a frame; model "
               f"trained in {metrics['train_seconds']:.0f}s{stopped} ({time.perf_counter() - start:.0f}s in all)\n")
    rows = [(model_name(config), test["accuracy"], test["per_speaker"])]
    for entry in test.get("baselines", {}).values():
        rows.append((entry["method"], entry["accuracy"], entry["per_speaker"]))
    speakers = list(test["per_speaker"])
    print(f"{'method':<38}{'accuracy':>9}  " + "  ".join(f"{s[:8]:>8}" for s in speakers))
    for name, accuracy, per_speaker in rows:
        print(f"{name:<38}{accuracy:>9.4f}  " + "  ".join(f"{per_speaker[s]:>8.3f}" for s in speakers))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, confusion_matrix.png, test_predictions.csv, "
               f"loss.png, config.toml)")
    _say(args, f"transcribe: rnnkit transcribe {folder} file.wav [more.wav ...]"
               + ("  (normalised per speaker: give several recordings of one speaker in one call)"
                  if config.normalization == "speaker" else ""))


def train_ctc(config: Any, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.speech.ctc import save_ctc_run, train_ctc_model

    start = time.perf_counter()
    result = train_ctc_model(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_ctc_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    who = (f"every take of {config.test_speaker}, unseen in training" if config.test_speaker
           else "takes 0-4 of seen speakers")
    _say(args, f"\nFSDD connected digits ({config.min_digits}-{config.max_digits} digits): {metrics['train_strings']} "
               f"train / {test['greedy']['utterances']} test strings ({who}); trained in "
               f"{metrics['train_seconds']:.0f}s ({time.perf_counter() - start:.0f}s in all)\n")
    print(f"{'decoding':<30}{'WER':>8}{'CER':>8}{'string acc':>12}")
    for name, entry in test.items():
        print(f"{name:<30}{entry['wer']:>8.4f}{entry['cer']:>8.4f}{entry['string_accuracy']:>12.4f}")
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, test_transcripts.csv, config.toml)")
    _say(args, f"transcribe: rnnkit transcribe {folder} file.wav [more.wav ...]")


def evaluate_speech(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit evaluate RUN` of a speech run: accuracy (isolated digits) or WER/CER (CTC) on the run's test split,
    or on --data (a CSV of path,text; for isolated digits also a folder of FSDD-named WAVs)."""
    from rnnkit.cli.commands import _write_csv
    from rnnkit.tasks.speech.evaluate import evaluate_ctc_run, evaluate_speech_run

    where = "its test split" if args.data in (None, run.config.data) else args.data
    if run.task == "ctc":
        scores, frame = evaluate_ctc_run(run, args.data)
        _say(args, f"{run.path}: {model_name(run.config)} + CTC on {scores['greedy']['utterances']} utterances of "
                   f"{where}\n")
        print(f"{'decoding':<30}{'WER':>8}{'CER':>8}{'string acc':>12}")
        for name, entry in scores.items():
            print(f"{name:<30}{entry['wer']:>8.4f}{entry['cer']:>8.4f}{entry['string_accuracy']:>12.4f}")
    else:
        report, frame = evaluate_speech_run(run, args.data)
        _say(args, f"{run.path}: {model_name(run.config)} digit classifier on {report['samples']} clips of {where}"
                   + (f"; features {report['normalization']}" if "normalization" in report else "") + "\n")
        speakers = list(report["per_speaker"])
        print(f"{'method':<38}{'accuracy':>9}  " + "  ".join(f"{s[:8]:>8}" for s in speakers))
        print(f"{model_name(run.config):<38}{report['accuracy']:>9.4f}  "
              + "  ".join(f"{report['per_speaker'][s]:>8.3f}" for s in speakers))
    if args.output:
        _write_csv(frame, Path(args.output))
        _say(args, f"predictions written to {args.output}")
    return 0


def add_transcribe_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    command = sub.add_parser("transcribe", parents=[common], help="say which digits are spoken in WAV files",
                             description="Transcribe mono 16-bit WAV files (any sample rate: resampled) with a speech "
                             "run: a digit for an isolated-digit run (`--task speech`), a digit string for a CTC run "
                             "(`--task ctc`). A run trained with --normalization speaker takes the files of one call "
                             "as recordings of one speaker and normalises them together: give several.")
    command.add_argument("run", help="a run folder written by `rnnkit train --task speech|ctc` or `rnnkit demo speech`")
    command.add_argument("wav", nargs="+", help="WAV files to transcribe (a --normalization speaker run: one "
                         "speaker's, normalised together)")
    command.add_argument("--beam", type=int, default=None, metavar="N",
                         help="CTC runs: prefix beam search width (default: the run's; 1: greedy)")
    command.add_argument("--stream", action="store_true", help="unidirectional CTC runs: read each file 10 ms at a "
                         "time and print the digits as they are recognised (greedy)")
    command.add_argument("--output", "-o", default=None, metavar="CSV", help="also write the transcripts as CSV")
    command.set_defaults(handler=transcribe)


def _stream(run: Any, args: argparse.Namespace) -> int:
    from rnnkit.data.audio import read_wav
    from rnnkit.tasks.speech.run import front_end_of
    from rnnkit.tasks.speech.streaming import StreamingTranscriber

    if run.task != "ctc":
        raise DataError(f"--stream transcribes with a CTC run; {run.path} is an isolated-digit run: drop --stream")
    if args.beam is not None or args.output:
        raise DataError("--stream decodes greedily as the audio arrives and prints it: drop --beam and --output")
    front_end = front_end_of(run)
    for path in args.wav:
        signal = read_wav(path, sample_rate=front_end.sample_rate)
        try:
            transcriber = StreamingTranscriber.from_run(run)
        except ValueError as error:
            raise DataError(f"--stream: {run.path}: {str(error).split(': ', 1)[1]}") from None
        print(f"{path}\t", end="", flush=True)
        for i in range(0, len(signal), front_end.hop_length):
            for digit in transcriber.push(signal[i:i + front_end.hop_length]):
                print(f"{digit} ", end="", flush=True)
        print(" ".join(map(str, transcriber.flush())), flush=True)
    return 0


def transcribe(args: argparse.Namespace) -> int:
    from rnnkit.cli.commands import _write_csv
    from rnnkit.tasks.runs import open_run
    from rnnkit.tasks.speech.run import speaker_normalised_run, transcribe_run, transcripts_frame

    if args.beam is not None and args.beam < 1:
        raise DataError(f"--beam must be an int >= 1 (1: greedy); got {args.beam}")
    run = open_run(args.run)
    if run.task not in ("speech", "ctc"):
        raise DataError(f"{run.path} is a {run.task} run; transcribe reads speech runs (`rnnkit train --task speech` "
                        f"or `--task ctc`)")
    if args.stream:
        return _stream(run, args)
    if args.beam is not None and run.task != "ctc":
        raise DataError(f"--beam applies to CTC runs; {run.path} is an isolated-digit run: drop --beam")
    if speaker_normalised_run(run):
        _say(args, f"{run.path} normalises per speaker: the files of this call ({len(args.wav)}) are taken as "
                   f"recordings of one speaker and normalised together")
        if len(args.wav) == 1:
            _say(args, "note: with one file the speaker statistics are that file's own (per utterance), which this "
                       "model was not trained on; give several recordings of the speaker in one call")
    transcripts = transcribe_run(run, args.wav, beam_size=args.beam)
    for t in transcripts:
        print(f"{t.path}\t{t.text}\t({t.confidence:.3f})")
    if args.output:
        _write_csv(transcripts_frame(transcripts), Path(args.output))
        _say(args, f"transcripts written to {args.output}")
    return 0


def demo_speech(args: argparse.Namespace) -> int:
    """`rnnkit demo speech`: isolated FSDD digits, the usual split, beside MFCC statistics + logistic regression."""
    from rnnkit.tasks.runs import start_run

    _say(args, "rnnkit demo speech: a bidirectional GRU listens to the Free Spoken Digit Dataset (3000 recordings\n"
               "of 6 speakers saying 0-9, 8 kHz; fetched once) and says which digit each test take (0-4) is, beside\n"
               "MFCC mean/std + logistic regression.\n")
    seed = getattr(args, "seed", None)
    config = DEMO_SPEECH_CONFIG if seed is None else dataclasses.replace(DEMO_SPEECH_CONFIG, seed=seed)
    start = time.perf_counter()
    _run_training("speech", config, args, start_run(getattr(args, "out", "runs"), task="speech", config=config),
                  resumed=False)
    _say(args, f"demo done in {(time.perf_counter() - start) / 60:.1f} min")
    return 0
