"""How much of the reviews' label a language model's features hold before any fine-tuning: logistic regression on
the frozen LM's concat-pooled LSTM outputs (a linear probe), at the label counts and seeds of text_transfer.py.

    python bench/text_transfer_probe.py --lm runs/transfer/lm-fine_food_reviews-... --out bench/results/text_transfer_probe

The same labelled subsets and validation texts as bench/text_transfer.py: C is chosen from C_GRID by accuracy on
the validation texts (as the TF-IDF baseline's is), the features are standardized on the training texts, and
every score is on the 1000 test reviews.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from text_transfer import LABELS, label_subset  # noqa: E402


def features(text_model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """(N, 3H) concat pooling of the top LSTM layer's outputs over each text's own tokens, in eval mode."""
    from rnnkit.layers import GlobalConcatPooling1D

    core = text_model.core.eval()
    stop = next(i for i, layer in enumerate(core.layers) if isinstance(layer, GlobalConcatPooling1D))
    vectorizer = text_model.model.layers[0]
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = None
    for start in range(0, len(texts), batch_size):
        index = order[start:start + batch_size]
        ids, lengths = vectorizer.vectorize([texts[i] for i in index])
        with torch.no_grad():
            x, current = ids, lengths
            for layer in core.layers[: stop + 1]:
                x, current = layer.propagate(x, current)
        if out is None:
            out = np.zeros((len(texts), x.shape[1]), dtype=np.float32)
        out[index] = x.numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm", required=True)
    parser.add_argument("--out", default="bench/results/text_transfer_probe")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from rnnkit.data import load_dataset
    from rnnkit.tasks.text import transfer
    from rnnkit.tasks.text.baselines import C_GRID
    from rnnkit.tasks.text.config import TextConfig
    from rnnkit.tasks.text.pipeline import _split_validation

    lm = transfer.load_language_model(args.lm)
    config = transfer.transfer_config(TextConfig(init_from=args.lm, dropout=0.0), lm)
    text_model = transfer.build_transfer_model(transfer.transfer_vectorizer(lm), lm, config, num_classes=2)
    full = load_dataset("fine_food_reviews")
    train_x, test_x = features(text_model, list(full.train_texts)), features(text_model, list(full.test_texts))
    position = {text_row: i for i, text_row in enumerate(full.train_rows)}
    results: dict[str, dict[str, list[float]]] = {}
    for count in LABELS:
        for seed in args.seeds:
            data = label_subset(full, count, seed)
            rows = np.array([position[r] for r in data.train_rows])
            train, val = _split_validation(data.train_labels, 0.2, seed)      # the pipeline's split of the subset
            scaler = StandardScaler().fit(train_x[rows[train]])
            fit = lambda C: LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(  # noqa: E731
                scaler.transform(train_x[rows[train]]), data.train_labels[train])
            models = [fit(C) for C in C_GRID]
            scores = [float((m.predict(scaler.transform(train_x[rows[val]])) == data.train_labels[val]).mean())
                      for m in models]
            predicted = models[int(np.argmax(scores))].predict(scaler.transform(test_x))
            accuracy = float((predicted == full.test_labels).mean())
            f1 = []
            for k in range(2):
                tp = float(((predicted == k) & (full.test_labels == k)).sum())
                precision = tp / max(1, (predicted == k).sum())
                recall = tp / max(1, (full.test_labels == k).sum())
                f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
            entry = results.setdefault(count, {"accuracy": [], "macro_f1": []})
            entry["accuracy"].append(accuracy)
            entry["macro_f1"].append(float(np.mean(f1)))
            print(json.dumps({"labels": count, "seed": seed, "accuracy": accuracy, "macro_f1": float(np.mean(f1))}),
                  flush=True)
    lines = ["| training labels | frozen LM features + logistic regression: accuracy | macro-F1 |", "|---|---|---|"]
    for count, entry in results.items():
        cells = [f"{np.mean(entry[k]):.3f} ± {np.std(entry[k], ddof=1):.3f}" for k in ("accuracy", "macro_f1")]
        lines.append(f"| {count} | {cells[0]} | {cells[1]} |")
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps({"lm_run": str(Path(args.lm).resolve()), "seeds": args.seeds,
                                                    "results": results}, indent=1) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
