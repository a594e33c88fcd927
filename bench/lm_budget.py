"""Validation loss of a tiny-shakespeare char LSTM after a fixed training budget, for choosing the lm defaults.

    python bench/lm_budget.py --minutes 5 --units 256 --layers 2 --batch-size 64 --seq-len 128 --lr 3e-3
    python bench/lm_budget.py --minutes 5 --threads 2 ...   # both cores

Prints one JSON line: the options, validation nats/char (exact, one stream) of the kept weights, the validation
loss after every epoch with its minute, steps, tokens/s, and the 1-minute load average sampled during the run
(wall-clock numbers from a busy machine are not comparable; rerun on a quiet one).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import rnnkit  # noqa: F401  (before torch, as the rnnkit command: it chooses the OpenMP wait policy)
import torch


def _load_sampler(samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(10.0):
        samples.append(float(open("/proc/loadavg").read().split()[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--output-dropout", type=float, default=0.0)
    parser.add_argument("--tie-weights", action="store_true")
    parser.add_argument("--schedule", default="cosine")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer", default="char")
    parser.add_argument("--vocab-size", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("RNNKIT_DATA_MIRROR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))
    torch.set_num_threads(args.threads)
    from rnnkit.tasks.lm import LMConfig, train_lm

    config = LMConfig(data="tiny_shakespeare", units=args.units, layers=args.layers, embedding_size=args.embedding_size,
                      batch_size=args.batch_size, seq_len=args.seq_len, learning_rate=args.lr, dropout=args.dropout,
                      output_dropout=args.output_dropout, tie_weights=args.tie_weights, schedule=args.schedule,
                      epochs=args.epochs, time_budget=args.minutes, seed=args.seed, tokenizer=args.tokenizer,
                      vocab_size=args.vocab_size, ngram_order=5, sample_length=200)
    samples: list[float] = [float(open("/proc/loadavg").read().split()[0])]
    stop = threading.Event()
    threading.Thread(target=_load_sampler, args=(samples, stop), daemon=True).start()
    start = time.perf_counter()
    result = train_lm(config, verbose=0)
    stop.set()
    m = result.metrics
    print(json.dumps({
        "options": vars(args), "val_nats_per_char": round(m["val"]["model"]["nats_per_char"], 4),
        "val_nats_per_token": round(m["val"]["model"]["nats_per_token"], 4),
        "kneser_ney_5": round(m["val"]["kneser_ney_5"]["nats_per_char"], 4),
        "epochs": [(round(s / 60, 2), round(v, 4)) for s, v in result.val_points],
        "steps": m["steps"], "training_seconds": m["training_seconds"],
        "tokens_per_second": m["tokens_per_second_training"], "parameters": m["parameters"],
        "sampling_tokens_per_second": m["sampling_tokens_per_second"], "wall_seconds": round(time.perf_counter() - start, 1),
        "load_1min": {"min": min(samples), "max": max(samples), "mean": round(sum(samples) / len(samples), 2)},
        "sample": result.sample.text[:200],
    }), flush=True)


if __name__ == "__main__":
    main()
