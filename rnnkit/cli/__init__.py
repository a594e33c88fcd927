"""The `rnnkit` command: `rnnkit demo`, `train`, `evaluate`, `predict`, `explain`, `generate`, `translate`,
`datasets`.

Bad input (a missing file or column, bad values, a lookback longer than the series, a run folder
of another task, an unknown config key) is one line on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from rnnkit.cli._launch import add_launch_options, add_watch_options
from rnnkit.cli._options import Parser, add_config_options

__all__ = ["build_parser", "main"]


def build_parser() -> Parser:
    from rnnkit.cli import commands
    from rnnkit.data import FILL_METHODS
    from rnnkit.tasks.config import TASKS

    parser = Parser(prog="rnnkit", description="Recurrent networks on real sequences: forecasting and "
                    "sequence classification. Start with `rnnkit demo`.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print only the results table")
    common.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: the models "
                        "the commands train mostly run fastest on one; bench/README.md 'Threads under contention')")
    from rnnkit import __version__

    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    demo = sub.add_parser("demo", parents=[common], help="train an LSTM on Seattle weather and compare it with baselines",
                          description="Train an LSTM forecaster of next-day temp_max on Seattle weather (about a "
                          "minute on 2 cores); print model vs naive vs seasonal-naive on the test span; write a run folder.")
    demo.add_argument("which", nargs="?", choices=("forecast", "text", "lm", "translate", "speech", "video"),
                      default="forecast",
                      help="forecast (default): Seattle weather; text: a BiGRU on fine-food reviews beside TF-IDF + "
                      "logistic regression (about 2 minutes); lm: a language model; translate: Multi30k De->En "
                      "with attention (under 5 minutes); speech: spoken digits (FSDD) with a BiGRU; video: the motion "
                      "of moving digits with a CNN + ConvLSTM beside a frame-averaged CNN (under 3 minutes)")
    demo.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    demo.set_defaults(handler=commands.demo)

    train = sub.add_parser("train", parents=[common], help="train a forecaster or classifier; writes a run folder",
                           description="Train on a bundled dataset (`rnnkit datasets`) or a .csv/.parquet file. "
                           "Options may come from --config FILE.toml (same keys, plus task = ...); flags override it.")
    train.add_argument("--task", choices=tuple(TASKS), default=None,
                       help="default: the bundled dataset's task, else forecast")
    train.add_argument("--config", default=None, metavar="FILE", help="TOML (or JSON) file of run options")
    train.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    train.add_argument("--resume", default=None, metavar="RUN", help="continue an interrupted run from its last "
                       "completed epoch, with its own config; ends with the weights of an uninterrupted run")
    add_launch_options(train)
    add_watch_options(train)
    add_config_options(train)
    train.set_defaults(handler=commands.train)

    for name, handler, text in (("evaluate", commands.evaluate, "score a run's model on its test span or on --data"),
                                ("predict", commands.predict, "forecast ahead / label sequences; writes a CSV")):
        command = sub.add_parser(name, parents=[common], help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("run", help="a run folder written by `rnnkit train` or `rnnkit demo`")
        command.add_argument("--data", default=None, help="other data (bundled name or file) with the run's columns")
        command.add_argument("--task", choices=tuple(TASKS), default=None,
                             help="check that the run is of this task")
        command.add_argument("--fill", choices=FILL_METHODS, default=None, help="missing values in --data")
        command.add_argument("--time-column", dest="time_column", default=None, help="date column of --data")
        command.add_argument("--time-format", dest="time_format", default=None, metavar="FORMAT",
                             help="strftime format of --data's time column, e.g. %%d/%%m/%%Y (default: ISO dates)")
        command.add_argument("--output", "-o", default=None, help="CSV to write"
                             + (" (default: RUN/predictions.csv)" if name == "predict" else ""))
        if name == "predict":
            command.add_argument("--text", action="append", default=None, metavar="TEXT",
                                 help="text runs: a raw text to classify (repeat for several); the table is printed, "
                                 "and written with -o")
            command.add_argument("--clip", action="append", default=None, metavar="CLIP",
                                 help="video runs: a clip to label, a .npy array of frames (T, H, W) (float in [0, 1] "
                                 "or uint8) or a folder of PNG frames (repeat for several)")
        if name == "evaluate":
            command.add_argument("--span", choices=("test", "all"), default=None,
                                 help="forecasting: score the test span of the run's split (default on the run's own "
                                 "data) or every complete window (default with --data)")
        command.set_defaults(handler=handler)

    from rnnkit.cli.lm_commands import add_generate_parser

    add_generate_parser(sub, common)

    from rnnkit.cli.translate_commands import add_translate_parser

    add_translate_parser(sub, common)

    from rnnkit.cli.speech_commands import add_transcribe_parser

    add_transcribe_parser(sub, common)

    from rnnkit.cli.lab_commands import add_lab_parser

    add_lab_parser(sub, common)

    from rnnkit.cli.explain_commands import add_explain_parser

    add_explain_parser(sub, common)

    from rnnkit.cli.compress_commands import add_compress_parser

    add_compress_parser(sub, common)

    from rnnkit.cli.export_commands import add_export_parser

    add_export_parser(sub, common)

    datasets = sub.add_parser("datasets", parents=[common], help="list bundled datasets and where they come from",
                              description="List the bundled real datasets, whether they load here, and what to install; "
                              "and the remote ones, with what is cached.")
    datasets.add_argument("--fetch", default=None, metavar="NAME", help="download a remote dataset into the cache "
                          "(from $RNNKIT_DATA_MIRROR when set), verifying every file's checksum")
    datasets.set_defaults(handler=commands.datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rnnkit` console script; returns the exit code."""
    from rnnkit.data import DataError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # `--nproc` launches the same command again under torchrun
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    import torch

    from rnnkit.cli.commands import Interrupted

    previous_threads = torch.get_num_threads()
    previous_sigterm = _sigterm_as_interrupt()
    try:
        if args.threads < 1:
            raise DataError(f"--threads must be >= 1; got {args.threads}")
        torch.set_num_threads(args.threads)
        return args.handler(args)
    except DataError as error:
        print(f"rnnkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Interrupted as interrupted:
        print(f"\nrnnkit {args.command}: {interrupted}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"\nrnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        torch.set_num_threads(previous_threads)  # main() may run inside a larger program (or a test session)
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _on_sigterm(signum, frame):  # noqa: ARG001 - the signal handler's signature
    raise KeyboardInterrupt


def _sigterm_as_interrupt():
    """Treat SIGTERM (`kill`, a scheduler's stop) like Ctrl-C, so the run is marked and resumable; returns the
    previous handler (None where handlers cannot be set: outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
