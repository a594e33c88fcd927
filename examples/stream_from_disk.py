"""Training on data streamed from disk: one .npy file per sequence, read by a Dataset, batched by length.

    python examples/stream_from_disk.py              # writes 2000 sequences to a temporary folder, trains
    python examples/stream_from_disk.py --small      # 200 sequences (what CI runs)
    python examples/stream_from_disk.py --folder data/   # your own folder of <label>_<id>.npy files (T_i, F)

Nothing is held in memory beyond a batch: `fit` takes the DataLoader; `BucketBatchSampler` groups sequences
of similar length (less padding), `pad_collate` pads each batch and passes the lengths to the recurrence.
The baseline beside the model: the majority class.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import rnnkit
from rnnkit.data import BucketBatchSampler, pad_collate
from rnnkit.layers import GRU, Dense
from rnnkit.models import Sequential


class NpyFolder(Dataset):
    """Files <label>_<anything>.npy, each a (T_i, F) float array; the label is the file name's prefix."""

    def __init__(self, files: list[Path], classes: list[str]) -> None:
        self.files, self.classes = files, classes
        self.lengths = [int(np.load(f, mmap_mode="r").shape[0]) for f in files]  # headers only

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        x = torch.as_tensor(np.load(self.files[i]), dtype=torch.float32)
        return x, torch.tensor(self.classes.index(self.files[i].name.split("_")[0]))


def write_example_folder(folder: Path, n: int, seed: int = 0) -> None:
    """Noisy sine waves of 20-200 steps; the class is the frequency band."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = int(rng.integers(0, 3))
        T = int(rng.integers(20, 200))
        t = np.arange(T)
        freq = (0.02, 0.06, 0.12)[label] * rng.uniform(0.8, 1.2)
        x = np.stack([np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)), rng.normal(0, 0.3, T)], axis=1)
        np.save(folder / f"band{label}_{i:05d}.npy", (x + rng.normal(0, 0.3, x.shape)).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=None, help="a folder of <label>_<id>.npy files (default: write one)")
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.folder) if args.folder else Path(scratch)
        if not args.folder:
            write_example_folder(folder, 200 if args.small else 2000)
        files = sorted(folder.glob("*.npy"))
        if not files:
            raise SystemExit(f"no .npy files in {folder}")
        classes = sorted({f.name.split("_")[0] for f in files})
        order = np.random.default_rng(0).permutation(len(files))
        cut = int(0.8 * len(files))
        train = NpyFolder([files[i] for i in order[:cut]], classes)
        test = NpyFolder([files[i] for i in order[cut:]], classes)
        loader = DataLoader(train, batch_sampler=BucketBatchSampler(train.lengths, batch_size=32, seed=0),
                            collate_fn=pad_collate, num_workers=0 if args.small else 2)
        rnnkit.set_seed(0)
        model = Sequential([GRU(16 if args.small else 32, input_shape=(None, 2)),
                            Dense(len(classes), activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], learning_rate=3e-3)
        model.fit(loader, epochs=2 if args.small else 15, seed=0, verbose=2)
        test_loader = DataLoader(test, batch_size=64, collate_fn=pad_collate)
        loss, accuracy = model.evaluate(test_loader)
        labels = np.array([test[i][1].item() for i in range(len(test))])
        majority = np.mean(labels == np.bincount([train[i][1].item() for i in range(len(train))]).argmax())
        print(f"test accuracy {accuracy:.3f} on {len(test)} sequences (majority-class baseline {majority:.3f})")


if __name__ == "__main__":
    main()
