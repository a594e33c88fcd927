"""The vanishing-gradient lab: `rnnkit lab PROBLEM --length T --model rnn|irnn|lstm|gru ...` (the same run as
`rnnkit train --task lab --problem PROBLEM ...`), `rnnkit lab --list`, and `rnnkit evaluate RUN` of a lab run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _say, _verbose
from rnnkit.data import DataError
from rnnkit.tasks.lab.config import LabConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["add_lab_parser", "evaluate_lab", "lab", "problems_table", "train_lab"]

_MODEL_NAMES = {"rnn": "tanh RNN", "irnn": "IRNN (ReLU, W_hh = I)", "lstm": "LSTM", "gru": "GRU"}


def problems_table() -> str:
    """One line per long-range problem: its name, kind, metric, trivial baseline and success threshold (at T = 100)."""
    from rnnkit.data.long_range import LONG_RANGE_TASKS, make_long_range

    lines = [f"{'problem':<24}{'kind':<16}{'metric':<15}{'baseline (T=100)':>17}{'solved at':>12}   baseline method"]
    for name in LONG_RANGE_TASKS:
        task = make_long_range(name, n=1, length=64 if name.startswith("pixel") else 100, seed=0)
        sign = "<" if task.metric in ("mse", "cross_entropy") else ">="
        lines.append(f"{name:<24}{task.kind:<16}{task.metric:<15}{task.baseline:>17.4g}{sign:>6} {task.threshold:<5.3g}"
                     f"   {task.baseline_method}")
    return "\n".join(lines)


def add_lab_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    from rnnkit.cli._launch import add_launch_options, add_watch_options
    from rnnkit.cli._options import add_config_options

    command = sub.add_parser("lab", parents=[common], help="long-range problems: why plain RNNs forget, what fixes it",
                             description="Train one recurrent layer (tanh RNN, IRNN, LSTM, GRU) on a long-range "
                             "problem (adding, multiplication, temporal order, xor, copy, pixel digits), score it "
                             "beside the problem's trivial baseline, and plot the gradient that reaches each step "
                             "before and after training. The same as `rnnkit train --task lab --problem PROBLEM`.")
    command.add_argument("lab_problem", nargs="?", default=None, metavar="PROBLEM",
                         help="the problem (`rnnkit lab --list`); default adding")
    command.add_argument("--list", action="store_true", help="list the problems with their baselines and stop")
    command.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    add_launch_options(command)
    add_watch_options(command)
    add_config_options(command)
    command.set_defaults(handler=lab, task="lab", config=None, resume=None)


def lab(args: argparse.Namespace) -> int:
    from rnnkit.cli.commands import train

    if args.list:
        print(problems_table())
        return 0
    if args.lab_problem is not None:
        given = getattr(args, "problem", None)
        if given is not None and given != args.lab_problem:
            raise DataError(f"PROBLEM {args.lab_problem!r} and --problem {given!r} disagree; give one of them")
        args.problem = args.lab_problem
    return train(args)


def _verdict(test: dict[str, Any]) -> str:
    better = test["score"] < test["baseline"] if test["metric"] != "accuracy" else test["score"] > test["baseline"]
    solved = "SOLVED" if test["solved"] else "not solved"
    sign = "<" if test["metric"] != "accuracy" else ">="
    return (f"{solved} (needs {test['metric']} {sign} {test['threshold']:.3g}); "
            f"{'better' if better else 'no better'} than the trivial baseline")


def results_table(config: LabConfig, metrics: dict[str, Any]) -> str:
    test = metrics["test"]
    lines = [f"{'':<44}{test['metric']:>14}",
             f"{_MODEL_NAMES[config.model] + (' (chrono init)' if config.chrono else ''):<44}{test['score']:>14.5g}",
             f"{'trivial baseline: ' + test['baseline_method'][:60]:<44.70}{test['baseline']:>14.5g}",
             _verdict(test)]
    for when in ("initial", "trained"):
        ratios = ", ".join(f"{key} {value:.3g}" if value is not None else f"{key} n/a"
                           for key, value in metrics["gradient_ratio"][when].items())
        lines.append(f"‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ {when + ':':<9} {ratios}")
    return "\n".join(lines)


def train_lab(config: LabConfig, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.lab.pipeline import run_lab, save_lab_run

    start = time.perf_counter()
    result = run_lab(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_lab_run(result, folder=folder)
    metrics, test = result.metrics, result.metrics["test"]
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    _say(args, f"\n{config.problem}, T = {test['steps']}: {metrics['train_sequences']} train + {metrics['val_sequences']} "
               f"validation / {test['sequences']} test sequences; {metrics['parameters']} weights trained with "
               f"{config.optimizer} in {metrics['train_seconds']:.0f}s{stopped} ({time.perf_counter() - start:.0f}s in "
               f"all)\n")
    print(results_table(config, metrics))
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, gradient_norms.png, gradient_norms.csv, loss.png, "
               f"config.toml)")


def evaluate_lab(run: Any, args: argparse.Namespace) -> int:
    """`rnnkit evaluate RUN` of a lab run: its test sequences again (regenerated from its config)."""
    from rnnkit.tasks.lab.pipeline import load_problem, probabilities, score

    if getattr(args, "data", None) not in (None, run.config.problem):
        raise DataError(f"--data {args.data!r}: a lab run is scored on its own generated test sequences "
                        f"({run.config.problem}); drop --data")
    _, test = load_problem(run.config)
    value = score(test, probabilities(test, run.model().predict(test.x, batch_size=256)))
    print(f"{run.path}: {run.config.problem}, T = {test.x.shape[1]}, {len(test.x)} test sequences: {test.metric} "
          f"{value:.5g} (trivial baseline {test.baseline:.5g}; solved below/above {test.threshold:.3g}: "
          f"{bool(test.solved(value))})")
    return 0
