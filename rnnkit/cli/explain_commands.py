"""`rnnkit explain RUN`: what a trained model looks at. Text runs weigh the tokens of `--text` (gradient × input);
lab and sequence-classification runs get the gate activations of their recurrent layers, saliency, integrated
gradients and the importance of each lag for a few test sequences (`rnnkit.explain.explain_model`), as PNGs
and an HTML page in RUN/explain/."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rnnkit.cli.commands import _say
from rnnkit.data import DataError

__all__ = ["add_explain_parser", "explain"]

_SEQUENCE_TASKS = ("lab", "classify")


def add_explain_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    command = sub.add_parser(
        "explain", parents=[common], help="what a model looks at: tokens, gates, saliency, integrated gradients",
        description="Text runs: classify --text and weigh each token by gradient x input toward the predicted class. "
                    "Lab and sequence-classification runs: gate activations over time, saliency, integrated "
                    "gradients and lag importance for the first --count test sequences. Writes PNGs and an HTML page.")
    command.add_argument("run", help="a run folder written by `rnnkit train` (task text, lab or classify)")
    command.add_argument("--text", default=None, help="text runs: the raw text to classify and explain")
    command.add_argument("--data", default=None, help="classify runs: explain sequences of this data instead of the "
                                                      "run's test sequences")
    command.add_argument("--count", type=int, default=8, help="sequences to explain (default 8; the page shows the "
                                                              "first, the tables all)")
    command.add_argument("--output", "-o", default=None, metavar="PATH",
                         help="text: write PATH.html and PATH.png; others: the folder (default: RUN/explain)")
    command.set_defaults(handler=explain)


def explain(args: argparse.Namespace) -> int:
    from rnnkit.tasks.runs import open_run

    run = open_run(args.run)
    if run.task == "text":
        from rnnkit.cli import text_commands

        if args.text is None:
            raise DataError("a text run explains one text: give it with --text \"...\"")
        return text_commands.explain(args)
    if args.text is not None:
        raise DataError(f"--text applies to text runs; {run.path} is a {run.task} run: drop --text")
    if run.task not in _SEQUENCE_TASKS:
        raise DataError(f"rnnkit explain reads text, lab and classify runs; {run.path} is a {run.task} run. In "
                        "Python, rnnkit.explain.explain_model(model, x, folder=...) explains any model on a batch x")
    if args.count < 1:
        raise DataError(f"--count must be >= 1; got {args.count}")
    x, lengths = _inputs(run, args)
    from rnnkit.explain import explain_model

    folder = Path(args.output) if args.output else run.path / "explain"
    html = explain_model(run.model(), x, folder=folder, lengths=lengths)
    _say(args, f"{run.path}: {len(x)} {'test ' if args.data is None else ''}sequences of {x.shape[1]} steps explained")
    print(f"written: {html}")
    return 0


def _inputs(run: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    if run.task == "lab":
        from rnnkit.tasks.lab.pipeline import load_problem

        if args.data not in (None, run.config.problem):
            raise DataError(f"--data {args.data!r}: a lab run is explained on its own generated test sequences "
                            f"({run.config.problem}); drop --data")
        _, test = load_problem(run.config)
        return test.x[:args.count], None
    from rnnkit.tasks.classify.run import explain_inputs

    x, lengths = explain_inputs(run, data=args.data, count=args.count)
    return x, None if (lengths == x.shape[1]).all() else lengths
