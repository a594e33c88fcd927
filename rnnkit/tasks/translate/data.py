"""The sentence pairs of a translation run: read them, fit the BPE tokenizers, encode, filter by length,
and cut the training pairs into batches of similar length.

    >>> pairs = load_pairs(TranslateConfig(data="multi30k"))          # its train / val / test_2016_flickr
    >>> pairs = load_pairs(TranslateConfig(source="a.de", target="a.en"))   # two line-aligned files
    >>> pairs = load_pairs(TranslateConfig(data="pairs.tsv"))          # source<TAB>target per line
    >>> batches = PairBatches(source_ids, target_ids, batch_size=64)   # Batch(x=(source (B, S), lengths), y=target (B, T))

Own data (two files or a TSV) is split in order: the first 1 - val_fraction - test_fraction of the pairs
train, then test, then validation. Pairs with an empty side are dropped from training (counted).
Length filter (stated in metrics.json): a training pair with a side longer than ``max_tokens`` BPE tokens
(eos included) is dropped; validation and test pairs are never filtered. Every source gets an eos, so an
empty source still has one real position to attend to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from rnnkit.data import DataError
from rnnkit.data.text import EOS_ID, PAD_ID
from rnnkit.training.data import Batch

__all__ = ["PairBatches", "Pairs", "build_tokenizers", "encode_sources", "encode_targets", "load_pairs",
           "pad_batch", "read_lines"]

SPLITS = ("train", "val", "test")
_MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


@dataclass(kw_only=True)
class Pairs:
    name: str                                   # "multi30k", or the file stem
    source: str                                 # where the pairs came from
    languages: tuple[str, str]                  # ("de", "en"), or ("source", "target")
    splits: dict[str, tuple[list[str], list[str]]]   # split -> (sources, targets)
    notes: list[str] = field(default_factory=list)


def read_lines(path: str | Path, argument: str) -> list[str]:
    """The lines of a UTF-8 text file (no line ends; a final newline does not make an extra line)."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{argument} {str(path)!r} is a folder; expected a UTF-8 text file with one sentence per line")
    if not path.is_file():
        raise DataError(f"{argument} {str(path)!r} does not exist; expected a UTF-8 text file with one sentence per line")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{argument} {str(path)!r} is not UTF-8 text: byte 0x{raw[error.start]:02x} on line {line} "
                        f"cannot be decoded; re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _read_tsv(path: str) -> tuple[list[str], list[str]]:
    sources, targets = [], []
    for number, line in enumerate(read_lines(path, "--data"), start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            raise DataError(f"--data {path!r} line {number}: expected 2 tab-separated columns (source<TAB>target); "
                            f"got {len(columns)}: {line[:60]!r}")
        sources.append(columns[0].strip())
        targets.append(columns[1].strip())
    return sources, targets


def _split_own(sources: list[str], targets: list[str], config: Any, what: str) -> dict[str, tuple[list, list]]:
    n = len(sources)
    n_val, n_test = int(round(n * config.val_fraction)), int(round(n * config.test_fraction))
    if n - n_val - n_test < 2 or n_val < 1 or n_test < 1:
        raise DataError(f"{what} holds {n} sentence pair(s); a translation run needs at least 2 to train and 1 each "
                        f"for validation and test (--val-fraction {config.val_fraction}, --test-fraction "
                        f"{config.test_fraction})")
    a, b = n - n_val - n_test, n - n_val
    return {"train": (sources[:a], targets[:a]), "test": (sources[a:b], targets[a:b]), "val": (sources[b:], targets[b:])}


def _is_file(data: str) -> bool:
    return "." in data or "/" in data or "\\" in data


def load_pairs(config: Any) -> Pairs:
    """The config's pairs: ``--source/--target`` files, a TSV ``--data``, or a remote parallel dataset."""
    if config.source:
        sources, targets = read_lines(config.source, "--source"), read_lines(config.target, "--target")
        if len(sources) != len(targets):
            raise DataError(f"--source {config.source!r} has {len(sources):,} lines but --target {config.target!r} "
                            f"has {len(targets):,}; the files must be line-aligned (line i of one translates line i "
                            f"of the other)")
        return Pairs(name=Path(config.source).stem, source=f"{config.source} + {config.target}",
                     languages=(Path(config.source).suffix.lstrip(".") or "source",
                                Path(config.target).suffix.lstrip(".") or "target"),
                     splits=_split_own(sources, targets, config, f"--source {config.source!r}"))
    if _is_file(config.data):
        sources, targets = _read_tsv(config.data)
        return Pairs(name=Path(config.data).stem, source=config.data, languages=("source", "target"),
                     splits=_split_own(sources, targets, config, f"--data {config.data!r}"))
    from rnnkit.data.remote import remote_dataset
    from rnnkit.data.remote_loaders import load_parallel

    try:
        dataset = remote_dataset(config.data)
    except (DataError, KeyError, ValueError) as error:
        raise DataError(f"--data {config.data!r} is neither a file nor a parallel dataset ({error}); pass "
                        f"--data multi30k, a TSV file, or --source FILE --target FILE") from None
    names = _MULTI30K_SPLITS if config.data == "multi30k" else {s: s for s in dataset.splits}
    splits = {}
    for ours, theirs in names.items():
        source, target = load_parallel(dataset, split=theirs, quiet=True)[:2]
        splits[ours] = ([s.strip() for s in source], [t.strip() for t in target])
    return Pairs(name=dataset.name, source=f"remote dataset {dataset.name} ({', '.join(names.values())})",
                 languages=tuple(dataset.languages[:2]), splits=splits)


def build_tokenizers(config: Any, sources: list[str], targets: list[str]) -> tuple[Any, Any]:
    """(source tokenizer, target tokenizer): byte-level BPE; "joint" returns the same object twice."""
    from rnnkit.data.text import BPETokenizer

    if config.vocab == "joint":
        joint = BPETokenizer(max_vocab=config.vocab_size).fit(sources + targets)
        return joint, joint
    return (BPETokenizer(max_vocab=config.vocab_size).fit(sources),
            BPETokenizer(max_vocab=config.target_vocab_size).fit(targets))


def encode_sources(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Each source as ids + eos (int64)."""
    return [np.asarray(ids + [EOS_ID], dtype=np.int64) for ids in tokenizer.encode_batch(texts)]


encode_targets = encode_sources  # targets also end with eos (what the decoder learns to stop on)


def pad_batch(sequences: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (B, S) int64 padded with pad, lengths (B,) int64)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max())), PAD_ID, dtype=torch.long)
    for b, s in enumerate(sequences):
        out[b, :len(s)] = torch.from_numpy(s)
    return out, lengths


class PairBatches(IterableDataset):
    """Batches of ``batch_size`` training pairs of similar source length, in a new random order each epoch
    (drawn from torch's generator, which ``fit`` seeds per epoch): ``Batch(x=(source, lengths), y=target)``."""

    def __init__(self, source_ids: list[np.ndarray], target_ids: list[np.ndarray], *, batch_size: int) -> None:
        self.source_ids, self.target_ids, self.batch_size = source_ids, target_ids, batch_size

    def __len__(self) -> int:
        return -(-len(self.source_ids) // self.batch_size)

    def __iter__(self):
        n = len(self.source_ids)
        # sort by source length (then target length), broken up by a random jitter so batches change
        jitter = torch.rand(n).numpy()
        keys = np.array([len(s) for s in self.source_ids]) + np.array([len(t) for t in self.target_ids]) / 1000 + jitter
        order = np.argsort(keys, kind="stable")
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        for k in torch.randperm(len(batches)).tolist():
            rows = batches[k]
            source, lengths = pad_batch([self.source_ids[i] for i in rows])
            target, _ = pad_batch([self.target_ids[i] for i in rows])
            yield Batch(x=(source, lengths), y=target)
