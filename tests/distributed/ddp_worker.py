"""One process of the DDP tests (run under torchrun, or alone for the 1-process reference).

Trains a float64 LSTM regressor (our hand-derived kernel) with a global batch of 8 and writes the final
weights of this rank to OUT.rank<k>.safetensors.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from safetensors.torch import save_file

import rnnkit
from rnnkit.callbacks import BackupAndRestore, Callback


class Regressor(rnnkit.Model):
    def __init__(self):
        super().__init__()
        self.lstm = rnnkit.nn.LSTM(3, 6, batch_first=True, backend="kernel").double()
        self.head = torch.nn.Linear(6, 1).double()

    def call(self, inputs, training=False):
        out, _ = self.lstm(inputs)
        return self.head(out[:, -1])


class StopAt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--backup", default=None)
    parser.add_argument("--stop-at", type=int, default=-1)
    parser.add_argument("--perturb-rank1", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5, 3))
    y = x[:, :, 0].sum(axis=1, keepdims=True) * 0.3
    if args.perturb_rank1 and rank == 1:
        x = x + 1.0  # this rank's data differs: only all-reduced gradients keep the ranks' weights equal
    rnnkit.set_seed(7)
    model = Regressor()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], learning_rate=0.01)
    callbacks = [StopAt(args.stop_at)]
    if args.backup:
        callbacks.append(BackupAndRestore(args.backup))
    try:
        history = model.fit(x, y, epochs=args.epochs, batch_size=8, validation_split=0.25, verbose=0, seed=3,
                            callbacks=callbacks)
    except KeyboardInterrupt:
        return
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{args.out}.rank{rank}.safetensors",
              metadata={"loss": repr(history.history["loss"]), "val_loss": repr(history.history["val_loss"])})


if __name__ == "__main__":
    main()
