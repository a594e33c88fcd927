"""One process of bench/ddp.py: fit an LSTM on synthetic data and report epoch times (rank 0 prints JSON)."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

import rnnkit  # before torch, as the rnnkit command: it chooses the OpenMP wait policy
import torch
from _epoch_times import EpochTimes  # bench/ is on sys.path when a script here runs
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential




def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("B", "T", "I", "H", "steps", "epochs", "threads"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    N = args.B * args.steps
    x = rng.normal(size=(N, args.T, args.I)).astype(np.float32)
    y = rng.normal(size=(N, 1)).astype(np.float32)
    rnnkit.set_seed(0)
    model = Sequential([LSTM(args.H, input_shape=(args.T, args.I)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    timer = EpochTimes()
    model.fit(x, y, batch_size=args.B, epochs=args.epochs, verbose=0, seed=0, callbacks=[timer])
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"epoch_seconds": timer.times, "samples": N}))


if __name__ == "__main__":
    main()
