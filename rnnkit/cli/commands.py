"""The subcommands: demo, train, evaluate, predict, datasets. Each returns an exit code."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import itertools
import sys
import time
from pathlib import Path
from typing import Any

from rnnkit.cli._options import given_config_values
from rnnkit.data import DataError
from rnnkit.training.distributed import is_rank_zero
from rnnkit.cli._output import (
    classification_table,
    datasets_table,
    forecast_table,
    verdict,
)
from rnnkit.tasks.config import (
    TASKS,
    ClassifyConfig,
    ForecastConfig,
    config_from_dict,
    read_config,
)

__all__ = ["DEMO_CONFIG", "datasets", "demo", "evaluate", "predict", "train"]

#: the demo: next-day temp_max in Seattle from the last 2 weeks of weather and the day of the year
DEMO_CONFIG = ForecastConfig(data="seattle_weather", target="temp_max", lookback=14, horizon=1)


def _say(args: argparse.Namespace, text: str = "") -> None:
    if not args.quiet:
        print(text, flush=True)


def _verbose(args: argparse.Namespace) -> int:
    """fit's progress: a live bar on a terminal, a line per epoch otherwise, nothing with --quiet."""
    if args.quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def _when(stamp: Any) -> str:
    """A date without a midnight time; a plain row number as is."""
    return str(stamp.date()) if hasattr(stamp, "date") and getattr(stamp, "hour", 1) == 0 else str(stamp)


def _model_name(config: Any) -> str:
    return {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}[config.model]


def _train_forecast(config: ForecastConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.forecast.pipeline import train_forecaster
    from rnnkit.tasks.forecast.run import save_forecast_run

    start = time.perf_counter()
    result = train_forecaster(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():  # of several processes, rank 0 writes the run's files
        save_forecast_run(result, folder=folder)
    problem, test = result.problem, result.metrics["test"]
    times = problem.series.frame.index
    first, last = result.test_origins[0] + 1, result.test_origins[-1] + config.horizon
    name = _model_name(config)
    _say(args, f"\n{problem.series.name}: forecast {problem.target}, {config.horizon} step(s) ahead from "
               f"{config.lookback} steps of {', '.join(problem.input_columns)}")
    _say(args, f"test span: {_when(times[first])} .. {_when(times[last])} ({test['windows']} windows), "
               f"trained in {time.perf_counter() - start:.0f}s")
    axis = problem.time
    frequency = (axis.frequency.name if axis.frequency else {"rows": "row order (no dates)", "positions":
                 "integer positions (no dates)"}.get(axis.kind, "dates without a regular step"))
    _say(args, f"time: {frequency}; season: {problem.season or 'unknown (pass --season)'}")
    for note in [*problem.notes, *(n for n in result.notes if n.startswith("warning:"))]:
        _say(args, note if note.startswith("warning:") else f"note: {note}")
    _say(args)
    print(forecast_table(test, model_name=name))
    print(verdict(test, model_name=name))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, forecast.png, loss.png, config.toml)")
    _say(args, f"repeat it:  rnnkit train --config {folder / 'config.toml'}")


def _train_classify(config: ClassifyConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.classify.pipeline import train_classifier
    from rnnkit.tasks.classify.run import save_classify_run

    start = time.perf_counter()
    result = train_classifier(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_classify_run(result, folder=folder)
    data, metrics = result.data, result.metrics
    _say(args, f"\n{data.name}: {data.num_classes} classes, {data.num_channels} channels, "
               f"{metrics['train_sequences']} train + {metrics['val_sequences']} validation / {len(data.test_sequences)} test "
               f"sequences of length "
               f"{metrics['test_lengths']['min']}-{metrics['test_lengths']['max']}, trained in "
               f"{time.perf_counter() - start:.0f}s\n")
    print(classification_table(metrics["test"], model_name=_model_name(config)))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, confusion_matrix.png, loss.png, config.toml)")
    _say(args, f"repeat it:  rnnkit train --config {folder / 'config.toml'}")


#: the task -> (module, function) that trains it into a run folder; forecast and classify are in this file
_TRAINERS = {"lm": ("rnnkit.cli.lm_commands", "train_lm"), "text": ("rnnkit.cli.text_commands", "train_text"),
             "translate": ("rnnkit.cli.translate_commands", "train_translate"),
             "speech": ("rnnkit.cli.speech_commands", "train_speech"), "ctc": ("rnnkit.cli.speech_commands", "train_ctc"),
             "video-classify": ("rnnkit.cli.video_commands", "train_video_classify"),
             "video-predict": ("rnnkit.cli.video_predict_commands", "train_video_predict"),
             "track": ("rnnkit.cli.video_track_commands", "train_track"), "lab": ("rnnkit.cli.lab_commands", "train_lab")}


def _run_training(task: str, config: Any, args: argparse.Namespace, folder: Path, *, resumed: bool) -> None:
    """Train into `folder`; an interruption leaves it resumable, and says how."""
    from rnnkit.tasks.runs import mark_run

    verb = "resuming" if resumed else "run folder"
    if args.quiet:
        print(f"{verb}: {folder}", flush=True)   # even -q names the folder: it is where the results go
    else:
        print(f"{verb}: {folder}  (interrupted? `rnnkit train --resume {folder}` continues it)\n", flush=True)
    try:
        with _tensorboard_logs(args, folder):
            if task in _TRAINERS:
                module, name = _TRAINERS[task]
                getattr(importlib.import_module(module), name)(config, args, folder)
            else:
                (_train_forecast if task == "forecast" else _train_classify)(config, args, folder)
    except KeyboardInterrupt:
        if is_rank_zero():
            mark_run(folder, "interrupted")
        raise Interrupted(f"interrupted; the run folder keeps the last completed epoch: "
                          f"`rnnkit train --resume {folder}` continues it") from None
    except DataError:
        if not resumed and is_rank_zero():
            _discard(folder)  # bad input found before training: no folder left behind for a one-line error
        raise
    except BaseException as error:
        if is_rank_zero():
            mark_run(folder, "failed", error=f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        raise
    if is_rank_zero():
        from rnnkit.tasks.report import write_run_report

        write_run_report(folder)   # report.html: metrics beside the baselines, plots, config


def _tensorboard_logs(args: argparse.Namespace, folder: Path) -> contextlib.AbstractContextManager:
    """--tensorboard DIR: every fit of the run also logs to TensorBoard, in DIR/<run name> (the k-th fit of a task
    that fits more than once, in DIR/<run name>-fit<k>). A resumed run appends to the same folder."""
    if getattr(args, "tensorboard", None) is None:
        return contextlib.nullcontext()
    from rnnkit.training.callback import callbacks_for_every_fit
    from rnnkit.training.tensorboard import TensorBoard, summary_writer_class

    root = Path(args.tensorboard)
    if root.exists() and not root.is_dir():
        raise DataError(f"--tensorboard: {str(root)!r} is a file, expected a folder for the logs; pass another path")
    try:
        summary_writer_class()
    except ImportError as error:
        raise DataError(f"--tensorboard: {error}") from None
    fits = itertools.count(1)

    def make() -> TensorBoard:
        k = next(fits)
        return TensorBoard(root / (folder.name if k == 1 else f"{folder.name}-fit{k}"))

    return callbacks_for_every_fit(make)


def _discard(folder: Path) -> None:
    """Remove a run folder that holds nothing but what `start_run` wrote."""
    written = {"config.toml", "run.json"}
    if folder.is_dir() and {p.name for p in folder.iterdir()} <= written:
        for name in written:
            (folder / name).unlink(missing_ok=True)
        folder.rmdir()


class Interrupted(Exception):
    """Training stopped by SIGINT/SIGTERM; the message says how to resume (exit code 130)."""


def demo(args: argparse.Namespace) -> int:
    which = getattr(args, "which", "forecast")
    if which == "text":
        from rnnkit.cli.text_commands import demo_text

        return demo_text(args)
    if which == "translate":
        from rnnkit.cli.translate_commands import demo_translate

        return demo_translate(args)
    if which == "speech":
        from rnnkit.cli.speech_commands import demo_speech

        return demo_speech(args)
    if which == "video":
        from rnnkit.cli.video_commands import demo_video

        return demo_video(args)
    if which == "lm":
        try:
            from rnnkit.cli.lm_commands import demo_lm
        except ImportError as error:
            raise DataError(f"rnnkit demo lm: this installation has no language-model demo ({error}); run "
                            f"`rnnkit demo text` or `rnnkit demo`") from None
        return demo_lm(args)
    _say(args, "rnnkit demo: an LSTM forecasts tomorrow's maximum temperature in Seattle (vega_datasets),\n"
               "scored on the last 15% of days beside the naive, seasonal-naive, ridge AR and AR + Fourier\n"
               "forecasts (the LSTM corrects the AR + Fourier forecast).\n")
    config = DEMO_CONFIG if args.seed is None else dataclasses.replace(DEMO_CONFIG, seed=args.seed)
    from rnnkit.tasks.runs import start_run

    _run_training("forecast", config, args, start_run(args.out, task="forecast", config=config), resumed=False)
    return 0


def train(args: argparse.Namespace) -> int:
    from rnnkit.cli._launch import launch, share_folder, under_torchrun, worker_setup
    from rnnkit.tasks.runs import start_run

    distributed = under_torchrun()
    if args.nproc < 1 or args.nnodes < 1:
        raise DataError(f"--nproc and --nnodes must be >= 1; got --nproc {args.nproc} --nnodes {args.nnodes}")
    if (args.nproc > 1 or args.nnodes > 1) and not distributed:
        return launch(args, args.argv)
    if distributed:
        worker_setup()
    if args.resume is not None:
        return _resume(args)
    values: dict[str, Any] = {}
    task = args.task
    if args.config is not None:
        file_task, values = read_config(args.config)
        if task is not None and task != file_task:
            raise_mismatch = f"--task {task} disagrees with task = \"{file_task}\" in {args.config}"
            from rnnkit.tasks.config import ConfigError

            raise ConfigError(raise_mismatch)
        task = file_task
    text_file = "text_column" in given_config_values(args, None)  # --text-column names a table of texts
    task = task or _task_of(getattr(args, "data", None)) or ("text" if text_file else "forecast")
    values.update(given_config_values(args, task))
    config = config_from_dict(TASKS[task], values)
    folder = start_run(args.out, task=task, config=config) if is_rank_zero() else None
    if distributed:
        folder = Path(share_folder(folder))
    _run_training(task, config, args, folder, resumed=False)
    return 0


def _resume(args: argparse.Namespace) -> int:
    """`rnnkit train --resume RUN`: the run's own config, from its last completed epoch."""
    from rnnkit.tasks.config import ConfigError
    from rnnkit.tasks.runs import mark_run, open_run

    given = [name for name in ("config", "task") if getattr(args, name) is not None]
    given += [f"--{name.replace('_', '-')}" for name in given_config_values(args, None)]
    if given:
        flags = ", ".join(g if g.startswith("--") else f"--{g}" for g in given)
        raise ConfigError(f"--resume continues a run with its own saved config; drop {flags} (to change "
                          f"options, start a new run with `rnnkit train --config {args.resume}/config.toml ...`)")
    run = open_run(args.resume, finished=False)
    if run.state.get("status") == "done":
        raise ConfigError(f"run {str(run.path)!r} has finished already; nothing to resume "
                          f"(evaluate it with `rnnkit evaluate {run.path}`)")
    if is_rank_zero():
        mark_run(run.path, "running")
    _run_training(run.task, run.config, args, run.path, resumed=True)
    return 0


VIDEO_TASKS = ("video-classify", "video-predict", "track")


def _task_of(data: str | None) -> str | None:
    """The task of a bundled dataset (`GunPoint`, `japanese_vowels`, ...) or of a `.ts` file, so they need no --task."""
    from rnnkit.data import list_datasets
    from rnnkit.data.bundled import dataset_key

    if data and data.lower().endswith(".ts"):
        return "classify"
    if data == "moving_digits":
        return "video-classify"  # generated clips (rnnkit.data.video); --task video-predict / track for the others
    key = dataset_key(data or "")
    if key is None:
        return None
    return next(info.task for info in list_datasets() if info.name == key)


def _open(args: argparse.Namespace) -> Any:
    from rnnkit.tasks.runs import open_run

    run = open_run(args.run, task=args.task)
    if getattr(args, "clip", None) and run.task not in VIDEO_TASKS:
        raise DataError(f"--clip is for video runs (`rnnkit train --task video-classify`); {run.path} is a {run.task} "
                        f"run: drop --clip")
    if run.task in VIDEO_TASKS:
        flags = [f"--{k.replace('_', '-')}" for k in ("fill", "time_column", "time_format", "text")
                 if getattr(args, k, None)]
        if flags:
            raise DataError(f"{', '.join(flags)}: not options of a video run; drop them")
        return run
    if run.task in ("speech", "ctc"):
        flags = [f"--{k.replace('_', '-')}" for k in ("fill", "time_column", "time_format", "text", "span")
                 if getattr(args, k, None)]
        if flags:
            raise DataError(f"{', '.join(flags)}: not options of a speech run; drop them")
        return run
    overrides = {k: getattr(args, k) for k in ("fill", "time_column", "time_format")
                 if getattr(args, k, None) is not None}
    if overrides and run.task == "lm":
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in overrides)
        raise DataError(f"{flags}: options of tables (forecasting, classification); a language model reads text")
    if overrides and run.task in ("text", "translate"):
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in overrides)
        raise DataError(f"{flags}: options of tables (forecasting, classification); a text run reads one text per row")
    if overrides and run.task == "classify":
        overrides.pop("time_column", None)
        overrides.pop("time_format", None)
    if overrides:
        run.config = dataclasses.replace(run.config, **overrides)
    return run


def evaluate(args: argparse.Namespace) -> int:
    run = _open(args)
    if run.task in ("speech", "ctc"):
        from rnnkit.cli.speech_commands import evaluate_speech

        return evaluate_speech(run, args)
    if run.task == "video-classify":
        from rnnkit.cli.video_commands import evaluate_video

        return evaluate_video(run, args)
    if run.task == "track":
        from rnnkit.cli.video_track_commands import evaluate_track

        return evaluate_track(run, args)
    if run.task == "lab":
        from rnnkit.cli.lab_commands import evaluate_lab

        return evaluate_lab(run, args)
    if run.task == "video-predict":
        raise DataError(f"{run.path} is a next-frame prediction run; its test scores are in "
                        f"{run.path / 'metrics.json'}")
    if run.task == "lm":
        from rnnkit.cli.lm_commands import evaluate_lm

        return evaluate_lm(args, run)
    if run.task == "text":
        from rnnkit.cli.text_commands import evaluate_text

        return evaluate_text(run, args)
    if run.task == "translate":
        from rnnkit.cli.translate_commands import evaluate_translate

        return evaluate_translate(args, run)
    name = _model_name(run.config)
    where = args.data or run.config.data
    if run.task == "forecast":
        from rnnkit.tasks.forecast.run import evaluate_forecast_run

        scores, notes, frame = evaluate_forecast_run(run, data=args.data, span=getattr(args, "span", None))
        _say(args, f"{run.path}: {name} forecaster; {notes[0]}")
        if scores["span"] == "all" and args.span is None:
            _say(args, "(--span test scores only the test span of the run's split of it)")
        for note in notes[1:]:
            if note.startswith("warning:"):
                _say(args, note)
        _say(args)
        print(forecast_table(scores, model_name=name))
        print(verdict(scores, model_name=name))
    else:
        from rnnkit.tasks.classify.run import evaluate_classify_run

        report, frame = evaluate_classify_run(run, data=args.data)
        _say(args, f"{run.path}: {name} classifier on the test sequences of {where}\n")
        print(classification_table(report))
    if args.output:
        _write_csv(frame, Path(args.output))
        _say(args, f"predictions written to {args.output}")
    return 0


def predict(args: argparse.Namespace) -> int:
    run = _open(args)
    if run.task in ("speech", "ctc"):
        raise DataError(f"{run.path} is a speech run; transcribe WAV files with `rnnkit transcribe {run.path} "
                        f"file.wav ...` (score it with `rnnkit evaluate {run.path}`)")
    if run.task == "video-classify":
        from rnnkit.cli.video_commands import predict_video

        return predict_video(run, args)
    if run.task == "video-predict":
        from rnnkit.cli.video_predict_commands import predict_video_predict

        return predict_video_predict(run, args)
    if run.task == "track":
        from rnnkit.cli.video_track_commands import predict_track

        return predict_track(run, args)
    if run.task == "lab":
        raise DataError(f"{run.path} is a lab run (a long-range problem): nothing to predict; score it with "
                        f"`rnnkit evaluate {run.path}`")
    if run.task == "text":
        from rnnkit.cli.text_commands import predict_text

        return predict_text(run, args)
    if getattr(args, "text", None):
        raise DataError(f"--text is for text runs; {run.path} is a {run.task} run: drop --text (use --data)")
    if run.task == "translate":
        raise DataError(f"{run.path} is a translation run; translate with `rnnkit translate {run.path} --text ...` "
                        f"or `--data FILE -o OUT` (predict writes forecasts and labels)")
    if run.task == "lm":
        raise DataError(f"{run.path} is a language model; continue a prompt with `rnnkit generate {run.path} "
                        f"--prompt ...` (predict writes forecasts and labels)")
    if run.task == "forecast":
        from rnnkit.tasks.forecast.run import predict_forecast_run

        frame = predict_forecast_run(run, data=args.data)
    else:
        from rnnkit.tasks.classify.run import predict_classify_run

        frame = predict_classify_run(run, data=args.data)
    output = Path(args.output) if args.output else run.path / "predictions.csv"
    _write_csv(frame, output)
    if not args.quiet:
        print(frame.head(10).to_string(index=False))
        if len(frame) > 10:
            print(f"... {len(frame) - 10} more rows")
    _say(args, f"predictions written to {output}")
    return 0


def _write_csv(frame: Any, path: Path) -> None:
    """Write `frame` to the CSV file `path` atomically, creating its folder if missing."""
    from rnnkit.saving._atomic import atomic_write

    if path.is_dir():
        raise DataError(f"--output {str(path)!r} is a folder; expected a CSV file path, e.g. "
                        f"{str(path / 'predictions.csv')!r}")
    try:
        atomic_write(path, lambda temp: frame.to_csv(temp, index=False))
    except OSError as error:
        raise DataError(f"--output {str(path)!r}: cannot write there ({error.strerror or error}); "
                        f"choose a writable path") from None


def datasets(args: argparse.Namespace) -> int:
    from rnnkit.data import cache_status, data_dir, data_mirror, fetch, list_datasets, remote_datasets

    if args.fetch is not None:
        folder = fetch(args.fetch, quiet=args.quiet)
        print(f"{args.fetch}: verified in {folder}")
        return 0
    remote = [(dataset, cache_status(dataset)) for dataset in remote_datasets()]
    print(datasets_table(list_datasets(), remote=remote, cache=data_dir(), mirror=data_mirror()))
    return 0
