"""`rnnkit compress RUN`: a pruned or distilled copy of a classification run, as a new run folder whose metrics
hold the original's beside its own (rnnkit.compress; rnnkit.tasks.classify.compress)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _say
from rnnkit.data import DataError

__all__ = ["add_compress_parser", "compress"]


def add_compress_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    command = sub.add_parser(
        "compress", parents=[common], help="quantise, prune or distil a run into a new run folder (classify; forecast, text: --int8)",
        description="--int8 stores the weights as int8 (per-row scales) and predicts through int8 products "
                    "(rnnkit.compress.quantize_dynamic; no training); --prune FRACTION zeroes that share of the weights (global magnitude; --structured: of the "
                    "hidden units) and fine-tunes with them kept at zero; --distill --units N trains a model of N "
                    "units on the run's data from the run's model's softened outputs (Hinton et al. 2015). "
                    "The new run folder's metrics hold the original's beside its own.")
    command.add_argument("run", help="a run folder written by `rnnkit train` (task classify; forecast and text with --int8)")
    how = command.add_mutually_exclusive_group(required=True)
    how.add_argument("--int8", action="store_true", help="dynamic int8 quantisation (inference)")
    how.add_argument("--prune", type=float, default=None, metavar="FRACTION", help="prune this share, in [0, 1)")
    how.add_argument("--distill", action="store_true", help="distil into a smaller model (--units)")
    command.add_argument("--structured", action="store_true", help="--prune whole hidden units (by their weights' norm)")
    command.add_argument("--units", type=int, default=None, help="--distill: the student's units (e.g. half the run's)")
    command.add_argument("--temperature", type=float, default=4.0, help="--distill: softening T (default 4)")
    command.add_argument("--alpha", type=float, default=0.9, help="--distill: weight of the soft term (default 0.9)")
    command.add_argument("--epochs", type=int, default=30, help="--prune: fine-tuning epochs at most (default 30)")
    command.add_argument("--out", default="runs", help="folder for the new run folder (default: runs)")
    command.set_defaults(handler=compress)


def compress(args: argparse.Namespace) -> int:
    from rnnkit.tasks.classify.compress import compress_classify_run
    from rnnkit.tasks.classify.run import save_classify_run
    from rnnkit.tasks.report import write_run_report
    from rnnkit.tasks.runs import open_run

    run = open_run(args.run)
    if run.task in ("forecast", "text") and args.int8:
        return _int8(args, run)
    if run.task != "classify":
        raise DataError(f"rnnkit compress: {args.run!r} is a {run.task} run; compress takes classify runs "
                        f"(`rnnkit train --task classify ...`), and forecast and text runs with --int8, so far")
    if args.distill and args.units is None:
        raise DataError("--distill needs --units N, the student's size (e.g. half the run's units)")
    if not args.distill and args.units is not None:
        raise DataError("--units goes with --distill; --prune and --int8 keep the run's architecture")
    if args.prune is not None and not 0.0 <= args.prune < 1.0:
        raise DataError(f"--prune must be a fraction in [0, 1), e.g. 0.5; got {args.prune}")
    if args.epochs < 1:
        raise DataError(f"--epochs must be >= 1; got {args.epochs}")
    if Path(args.out).exists() and not Path(args.out).is_dir():   # checked before any training
        raise DataError(f"--out {args.out!r} is a file; expected a folder to hold run folders, e.g. --out runs")
    result, extra = compress_classify_run(run, prune=args.prune, structured=args.structured,
                                          distill_units=args.units if args.distill else None, int8=args.int8,
                                          temperature=args.temperature, alpha=args.alpha,
                                          fine_tune_epochs=args.epochs, verbose=0 if args.quiet else 2)
    folder = save_classify_run(result, out=args.out, extra_state=extra)
    write_run_report(folder)
    metrics = result.metrics
    c = metrics["compression"]
    if c["method"] == "int8":
        original_ms, int8_ms = 1e3 * c["predict_seconds_float32"], 1e3 * c["predict_seconds_int8"]
        print(f"{'':<44}{'accuracy':>10}{'bytes':>10}{'predict':>12}")
        print(f"{'original (float32)':<44}{metrics['original']['test_accuracy']:>10.4f}{c['float32_bytes']:>10}"
              f"{original_ms:>10.1f}ms")
        print(f"{'int8':<44}{metrics['test']['accuracy']:>10.4f}{c['int8_bytes']:>10}{int8_ms:>10.1f}ms")
        _say(args, f"\nrun folder: {folder}  (metrics.json: 'original' beside 'test'; report.html)")
        return 0
    what = (f"{c['method']} {c['amount']:g} (sparsity {c['sparsity']:.3f})" if c["method"] != "distill"
            else f"distilled into {c['units']} units (T {c['temperature']:g}, alpha {c['alpha']:g})")
    print(f"{'':<44}{'accuracy':>10}{'weights':>10}")
    print(f"{'original':<44}{metrics['original']['test_accuracy']:>10.4f}{c['original_weights']:>10}")
    print(f"{what:<44}{metrics['test']['accuracy']:>10.4f}{c.get('nonzero_weights', c['weights']):>10}")
    print("weights: non-zero parameters" if c["method"] != "distill" else "weights: parameters")
    _say(args, f"\nrun folder: {folder}  (metrics.json: 'original' beside 'test'; report.html)")
    return 0


def _int8(args: argparse.Namespace, run: Any) -> int:
    from rnnkit.tasks.int8 import int8_run
    from rnnkit.tasks.report import write_run_report

    if args.units is not None:
        raise DataError("--units goes with --distill; --int8 keeps the run's architecture")
    folder, metrics = int8_run(run, out=args.out)
    write_run_report(folder)
    c = metrics["compression"]
    if run.task == "forecast":
        keys = ("mae", "rmse", "mase")
        new, old = metrics["test"]["model"], metrics["original"]["test"]["model"]
    else:
        keys = ("accuracy", "macro_f1")
        new, old = metrics["test"], metrics["original"]["test"]
    print(f"{'':<24}" + "".join(f"{k:>10}" for k in keys) + f"{'bytes':>10}")
    for name, scores, size in (("original (float32)", old, c["float32_bytes"]), ("int8", new, c["int8_bytes"])):
        print(f"{name:<24}" + "".join(f"{scores[k]:>10.4f}" for k in keys) + f"{size:>10}")
    _say(args, f"\nrun folder: {folder}  (metrics.json: 'original' beside 'test'; report.html)")
    return 0
