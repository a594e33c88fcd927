"""What pre-training buys: the fine-food reviews classifier fine-tuned from a language model of the reviews' own
training texts (ULMFiT-style, ``--init-from``) vs the same model from random weights, vs TF-IDF + logistic
regression, at 100, 500 and all training labels, seeds 0-2. Writes the table as JSON and markdown.

    rnnkit train --task lm --data fine_food_reviews --tokenizer bpe ... --out runs/transfer   # the LM (docs/results.md)
    python bench/text_transfer.py --lm runs/transfer/lm-fine_food_reviews-... --out bench/results/text_transfer

For each seed s and label count n, the same n labelled training texts (a stratified sample drawn with s; "all"
is the 4000) go to all three methods; 20 % of them are the validation texts the networks stop on and the
TF-IDF baseline picks its C on. The language model read the text of all 4000 training reviews (no labels) and
never a test review; every score is on the dataset's 1000 test reviews. Nothing is tuned on the test texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

LABELS = ("100", "500", "all")
METHODS = {"transfer": "LM pre-trained, fine-tuned (ULMFiT)", "scratch": "same model, from scratch",
           "tfidf_logistic": "TF-IDF + logistic regression", "majority": "majority class"}


def label_subset(data: Any, count: str, seed: int) -> Any:
    """The data with `count` of its training texts (stratified by class, drawn with `seed`), or all of them."""
    from rnnkit.data.sequence_table import stratified_holdout

    if count == "all":
        return data
    keep = np.flatnonzero(stratified_holdout(data.train_labels, int(count) / len(data.train_labels), seed))
    return dataclasses.replace(data, train_texts=tuple(data.train_texts[i] for i in keep),
                               train_labels=data.train_labels[keep], train_rows=data.train_rows[keep])


def epochs_for(count: str, args: argparse.Namespace) -> int:
    return args.epochs_all if count == "all" else args.epochs_few


def one_run(data: Any, count: str, seed: int, pretrained: bool, args: argparse.Namespace) -> dict[str, Any]:
    from rnnkit.tasks.text.config import TextConfig
    from rnnkit.tasks.text.pipeline import train_text_classifier

    config = TextConfig(data="fine_food_reviews", init_from=args.lm, pretrained=pretrained, seed=seed,
                        epochs=epochs_for(count, args), learning_rate=args.lr, dropout=args.dropout,
                        batch_size=args.batch_size,
                        unfreeze_every=args.unfreeze_every, lr_decay=args.lr_decay, patience=args.patience)
    start = time.perf_counter()
    result = train_text_classifier(config, data=data)
    test, metrics = result.metrics["test"], result.metrics
    keep = ("accuracy", "macro_f1", "roc_auc")
    return {"scores": {k: test[k] for k in keep},
            "baselines": {name: {k: entry[k] for k in keep if k in entry} for name, entry in test["baselines"].items()},
            "train_texts": metrics["train_texts"], "val_texts": metrics["val_texts"],
            "epochs_run": len(result.history.get("loss", [])), "best_epoch": metrics.get("best_epoch"),
            "train_seconds": metrics["train_seconds"], "wall_seconds": round(time.perf_counter() - start, 1),
            "config": dataclasses.asdict(result.config)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """mean and std (ddof=1, over the seeds) of accuracy and macro-F1, per label count and method."""
    table: dict[str, Any] = {}
    for count in LABELS:
        rows = [r for r in runs if r["labels"] == count]
        if not rows:
            continue
        entry: dict[str, Any] = {"seeds": sorted({r["seed"] for r in rows})}
        for method in METHODS:
            values: dict[str, list[float]] = {"accuracy": [], "macro_f1": []}
            for r in rows:
                if method in ("transfer", "scratch"):
                    if r["method"] != method:
                        continue
                    scores = r["scores"]
                elif r["method"] == "transfer":            # the baselines of the transfer run's (identical) split
                    scores = r["baselines"][method]
                else:
                    continue
                for k in values:
                    values[k].append(scores[k])
            entry[method] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                                 "values": v} for k, v in values.items() if v}
        table[count] = entry
    return table


def markdown(summary: dict[str, Any], info: dict[str, Any]) -> str:
    lines = ["| training labels | method | accuracy | macro-F1 |", "|---|---|---|---|"]
    for count, entry in summary.items():
        shown = f"{count} (of 4000)" if count != "all" else "all 4000"
        for method, name in METHODS.items():
            if method not in entry or not entry[method]:
                continue
            cells = [f"{entry[method][k]['mean']:.3f} ± {entry[method][k]['std']:.3f}" for k in ("accuracy", "macro_f1")]
            lines.append(f"| {shown} | {name} | {cells[0]} | {cells[1]} |")
    lines.append("")
    lines.append(f"Mean ± std (ddof=1) over seeds {info['seeds']}; 1000 test reviews. Language model: {info['lm']}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm", required=True, help="the language-model run folder (rnnkit train --task lm ...)")
    parser.add_argument("--out", default="bench/results/text_transfer", help="writes OUT.json and OUT.md")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels", nargs="+", default=list(LABELS), choices=LABELS)
    parser.add_argument("--epochs-few", type=int, default=20, help="epochs at most with 100 / 500 labels")
    parser.add_argument("--epochs-all", type=int, default=6, help="epochs at most with all labels (the 2-core budget)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--lr", type=float, default=3e-3, help="the head's learning rate (every group's, from scratch)")
    parser.add_argument("--lr-decay", type=float, default=2.6)
    parser.add_argument("--unfreeze-every", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.2, help="on the embeddings and the pooled features, "
                        "for both arms (the text default 0.5 drops half of what the LM's embedding holds)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from rnnkit.data import load_dataset
    from rnnkit.tasks.runs import open_run

    args.lm = str(Path(args.lm).resolve())
    lm_run = open_run(args.lm, task="lm")
    full = load_dataset("fine_food_reviews")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    lm_metrics = json.loads((Path(args.lm) / "metrics.json").read_text())
    info = {"lm": (f"{lm_run.config.layers}x{lm_run.config.units} LSTM, {lm_run.config.tokenizer} "
                   f"{lm_metrics['vocab_size']} tokens, embedding {lm_run.config.embedding_size}, trained "
                   f"{lm_metrics['training_seconds'] / 60:.1f} min on the 4000 training reviews (validation "
                   f"{lm_metrics['val']['model']['perplexity']:.1f} perplexity, unigram "
                   f"{lm_metrics['val']['unigram']['perplexity']:.1f})"),
            "lm_run": args.lm, "seeds": args.seeds, "options": {k: v for k, v in vars(args).items()},
            "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()}
    began = time.perf_counter()
    for count in args.labels:
        for seed in args.seeds:
            data = label_subset(full, count, seed)
            for method in ("transfer", "scratch"):
                run = one_run(data, count, seed, method == "transfer", args)
                runs.append({"labels": count, "seed": seed, "method": method, **run})
                print(json.dumps({k: runs[-1][k] for k in ("labels", "seed", "method", "scores", "epochs_run",
                                                          "best_epoch", "wall_seconds")}), flush=True)
                summary = summarize(runs)
                info["minutes"] = round((time.perf_counter() - began) / 60, 1)
                out.with_suffix(".json").write_text(json.dumps({"info": info, "summary": summary, "runs": runs},
                                                               indent=1) + "\n")
                out.with_suffix(".md").write_text(markdown(summary, info))
    print(markdown(summarize(runs), info))


if __name__ == "__main__":
    main()
