"""Data-parallel training with PyTorch's own engine: the same script, one process or several.

    python examples/ddp_train.py                                        # one process
    torchrun --standalone --nproc-per-node 2 examples/ddp_train.py      # two processes on this machine
    # several machines: on each, with its own --node-rank and machine 0's address
    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 2 --rdzv-backend c10d \\
             --rdzv-endpoint host0:29500 examples/ddp_train.py

`fit` sees the process group torchrun sets up and runs DistributedDataParallel (gloo on CPU, nccl on
CUDA): `batch_size` is the global batch, split over the processes; gradients are all-reduced; rank 0
prints and writes the checkpoint. The task: next-day maximum temperature in Seattle (vega_datasets) from
14 days of weather, beside the naive forecast.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

import rnnkit
from rnnkit.callbacks import BackupAndRestore, EarlyStopping
from rnnkit.data import load_dataset
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential


def windows(values: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([values[t - lookback:t] for t in range(lookback, len(values))])
    return x.astype(np.float32), values[lookback:, :1].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--backup", default="ddp_backup", help="checkpoint folder (resume by running again)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    frame = load_dataset("seattle_weather").frame
    values = frame.to_numpy(dtype=np.float64)
    cut = int(0.8 * len(values))
    mean, std = values[:cut].mean(axis=0), values[:cut].std(axis=0)
    x, y = windows((values - mean) / std, lookback=14)
    x_train, y_train, x_test, y_test = x[: cut - 14], y[: cut - 14], x[cut - 14:], y[cut - 14:]
    rnnkit.set_seed(0)
    model = Sequential([LSTM(32, input_shape=(14, values.shape[1])), Dense(1)])
    model.compile(optimizer="adam", loss="mse", learning_rate=3e-3)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.15, seed=0,
              callbacks=[EarlyStopping(patience=4, restore_best_weights=True), BackupAndRestore(args.backup)],
              verbose=2 if int(os.environ.get("RANK", "0")) == 0 else 0)
    if int(os.environ.get("RANK", "0")) == 0:
        mae = float(np.mean(np.abs(model.predict(x_test) - y_test))) * std[0]
        naive = float(np.mean(np.abs(x_test[:, -1, :1] - y_test))) * std[0]
        world = int(os.environ.get("WORLD_SIZE", "1"))
        print(f"{world} process(es): test MAE {mae:.3f} °C vs naive {naive:.3f} °C")


if __name__ == "__main__":
    main()
