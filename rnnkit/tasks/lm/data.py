"""The text of a language-model run: read it, split it, and cut it into truncated-BPTT chunks.

    >>> corpus = load_corpus("tiny_shakespeare")        # a remote text dataset, or a UTF-8 .txt file
    >>> corpus = load_corpus("fine_food_reviews")       # a bundled text dataset: its training texts only
    >>> train_text, val_text = split_text(corpus, val_fraction=0.1)   # the first 90 % / the last 10 %
    >>> chunks = StreamChunks(train_ids, batch_size=64, seq_len=128)  # (x, y) chunks of 64 parallel streams

Streams: the training tokens are cut into B contiguous streams (row b of every chunk continues row b of the
chunk before), so a state carried from chunk to chunk has read the text that precedes the chunk. Each epoch
starts the streams at a random offset in [0, T), so chunk boundaries move between epochs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset

from rnnkit.data import DataError

__all__ = ["Corpus", "StreamChunks", "bundled_corpus", "check_stream_length", "load_corpus", "split_text"]


@dataclass(frozen=True)
class Corpus:
    name: str      # the dataset name, or the file's stem
    source: str    # "remote dataset tiny_shakespeare" or the file's path
    text: str


def _is_file(data: str) -> bool:
    return "." in data or "/" in data or "\\" in data


def _read_text_file(path: Path) -> str:
    if path.is_dir():
        raise DataError(f"--data {str(path)!r} is a folder; expected a UTF-8 text file (or a remote text dataset "
                        f"name such as tiny_shakespeare)")
    if not path.is_file():
        raise DataError(f"--data {str(path)!r} does not exist; pass a UTF-8 text file, or a remote text dataset "
                        f"name such as tiny_shakespeare (`rnnkit datasets` lists them)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")         # a leading byte-order mark is not part of the text
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{path} is not UTF-8 text: byte 0x{raw[error.start]:02x} at offset {error.start} (line "
                        f"{line}) cannot be decoded; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 "
                        f"{path.name} > {path.stem}.utf8{path.suffix})") from None
    if not text.strip():
        raise DataError(f"{path} is empty{' (only whitespace)' if text else ''}; a language model needs text to "
                        f"learn from")
    return text


def load_corpus(data: str) -> Corpus:
    """A remote text dataset (fetched through the cache or ``$RNNKIT_DATA_MIRROR``), a bundled text dataset
    (its training texts, one per line: ``bundled_corpus``) or a UTF-8 text file."""
    if _is_file(data) or Path(data).exists():
        path = Path(data)
        return Corpus(name=path.stem, source=str(path), text=_read_text_file(path))
    from rnnkit.data.bundled import dataset_key

    key = dataset_key(data)
    if key is not None:
        return bundled_corpus(key)
    from rnnkit.data.remote import remote_dataset
    from rnnkit.data.remote_loaders import load_text

    dataset = remote_dataset(data)
    if dataset.kind != "text":
        raise DataError(f"--data {data!r} is a remote {dataset.kind} dataset; a language model reads text: "
                        f"tiny_shakespeare or a UTF-8 .txt file")
    return Corpus(name=dataset.name, source=f"remote dataset {dataset.name}", text=load_text(dataset, quiet=True))


def bundled_corpus(name: str) -> Corpus:
    """The *training* texts of a bundled text dataset (fine_food_reviews), one per line, in the dataset's order.

    Its test texts are never read: a classifier fine-tuned from this language model (``--init-from``) is
    scored on texts the language model has not seen. Newlines inside a text become spaces, so each line
    is one text.
    """
    from rnnkit.data import load_dataset
    from rnnkit.data.bundled import TextData

    data = load_dataset(name)
    if not isinstance(data, TextData):
        raise DataError(f"--data {name!r} is a bundled dataset of numeric sequences, not text; a language model "
                        f"reads text: a text dataset such as fine_food_reviews or tiny_shakespeare, or a .txt file")
    text = "".join(" ".join(t.split("\n")) + "\n" for t in data.train_texts)
    source = f"the {len(data.train_texts)} training texts of {data.name} (not its test texts)"
    return Corpus(name=data.name, source=source, text=text)


def split_text(corpus: Corpus, *, val_fraction: float) -> tuple[str, str]:
    """(the first 1 - val_fraction of the characters, the rest): the usual contiguous LM split."""
    cut = int(round(len(corpus.text) * (1.0 - val_fraction)))
    train, val = corpus.text[:cut], corpus.text[cut:]
    if len(val) < 2:
        raise DataError(f"{corpus.name}: --val-fraction {val_fraction} of {len(corpus.text):,} characters leaves "
                        f"{len(val)} for validation; raise --val-fraction or give a longer text")
    if not train.strip():
        raise DataError(f"{corpus.name}: the training part (the first {1 - val_fraction:.0%}) holds no text")
    return train, val


def check_stream_length(name: str, tokens: int, *, batch_size: int, seq_len: int, unit: str) -> None:
    """At least one chunk: B streams of T tokens (+ T - 1 for the random offset, + 1 for the last target)."""
    needed = batch_size * seq_len + seq_len
    if tokens < needed:
        raise DataError(f"{name}: the training text is {tokens:,} {unit}s, shorter than --batch-size {batch_size} "
                        f"streams x --seq-len {seq_len} (+ {seq_len}) = {needed:,}; lower --seq-len or --batch-size, "
                        f"or give a longer text")


class StreamChunks(IterableDataset):
    """``(x, y)`` int64 chunks of shape (B, T): B parallel streams of the token array, T steps at a time;
    y is x shifted by one token. ``len()`` chunks per epoch, in order (never shuffle them: the state carries)."""

    def __init__(self, ids: np.ndarray, *, batch_size: int, seq_len: int, random_offset: bool = True) -> None:
        self.ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        self.B, self.T, self.random_offset = batch_size, seq_len, random_offset
        slack = seq_len - 1 if random_offset else 0
        self.stream_length = (len(self.ids) - 1 - slack) // batch_size        # S: x positions per stream
        if self.stream_length < seq_len:
            raise ValueError(f"StreamChunks: {len(self.ids)} tokens make streams of {self.stream_length} < seq_len="
                             f"{seq_len}; see check_stream_length")

    def __len__(self) -> int:
        return self.stream_length // self.T

    def __iter__(self):
        B, T, S = self.B, self.T, self.stream_length
        # drawn from torch's generator, which fit seeds per epoch: the same run gives the same offsets
        offset = int(torch.randint(0, T, ())) if self.random_offset else 0
        x = self.ids[offset: offset + B * S].view(B, S)                          # (B, S)
        y = self.ids[offset + 1: offset + 1 + B * S].view(B, S)                  # (B, S)
        for k in range(len(self)):
            yield x[:, k * T:(k + 1) * T], y[:, k * T:(k + 1) * T]               # (B, T) each
