"""Thin loaders over `fetch`: the raw contents of the remote datasets, for the text, translation and
speech tasks to build on.

    >>> text = load_text("tiny_shakespeare")                       # str, 1,115,394 characters
    >>> de, en = load_parallel("multi30k", split="train")          # 29,000 line-aligned captions each
    >>> clips = fsdd_files()                                        # 3000 SpokenDigit(path, digit, speaker, take)

Each call fetches what it needs (the cache, `$RNNKIT_DATA_MIRROR`, then the source; see `rnnkit.data.fetch`)
and reads it as it is: no tokenising, normalising or splitting beyond what the files themselves hold.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rnnkit.data._errors import DataError
from rnnkit.data.fetch import fetch
from rnnkit.data.remote import RemoteDataset, remote_dataset, remote_datasets

__all__ = ["SpokenDigit", "fsdd_files", "load_parallel", "load_text"]


def _of_kind(name: str | RemoteDataset, kind: str, loader: str) -> RemoteDataset:
    dataset = remote_dataset(name)
    if dataset.kind != kind:
        others = ", ".join(repr(d.name) for d in remote_datasets() if d.kind == kind)
        raise DataError(f"{loader}: dataset {dataset.name!r} holds {dataset.kind} data, not {kind}; "
                        f"{loader} reads {others or f'datasets of kind {kind!r}'}")
    return dataset


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text ({error}); delete it and fetch it again") from None


def load_text(name: str | RemoteDataset, *, quiet: bool = False) -> str:
    """The whole text of a text dataset (one file), exactly as published (newlines untouched)."""
    dataset = _of_kind(name, "text", "load_text")
    if len(dataset.files) != 1:
        raise DataError(f"load_text: dataset {dataset.name!r} has {len(dataset.files)} files; a text dataset has one")
    (file,) = dataset.files
    path = fetch(dataset, quiet=quiet) / file.path
    return _decode(path.read_bytes(), path)


def _lines(path: Path) -> list[str]:
    text = _decode(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes(), path)
    # One sentence a line. Split on "\n" only: str.splitlines would also split inside a sentence at
    # U+2028, U+0085 or a form feed, and break the alignment.
    return text.removesuffix("\n").split("\n") if text else []


def load_parallel(name: str | RemoteDataset, *, split: str = "train",
                  quiet: bool = False) -> tuple[list[str], ...]:
    """The line-aligned sentences of one split of a parallel corpus, one list per language in the dataset's
    order (Multi30k: `de, en = load_parallel("multi30k", split="train")`). Files are `<split>.<lang>.gz`."""
    dataset = _of_kind(name, "parallel", "load_parallel")
    if split not in dataset.splits:
        raise DataError(f"load_parallel: split must be one of {', '.join(map(repr, dataset.splits))} for "
                        f"{dataset.name!r}; got {split!r}")
    paths = [f"{split}.{language}.gz" for language in dataset.languages]
    folder = fetch(dataset, files=paths, quiet=quiet)
    sides = tuple(_lines(folder / path) for path in paths)
    counts = {language: len(lines) for language, lines in zip(dataset.languages, sides)}
    if len(set(counts.values())) > 1:
        raise DataError(f"{dataset.name} {split}: the languages are not line-aligned: "
                        f"{', '.join(f'{k} has {v:,} lines' for k, v in counts.items())}")
    return sides


_FSDD_NAME = re.compile(r"(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<take>\d+)\.wav")


@dataclass(frozen=True, kw_only=True)
class SpokenDigit:
    """One FSDD recording: mono 8 kHz WAV `{digit}_{speaker}_{take}.wav`."""

    path: Path  # in the cache
    digit: int  # 0-9, the label
    speaker: str  # george, jackson, lucas, nicolas, theo, yweweler
    take: int  # 0-49

    @property
    def split(self) -> Literal["train", "test"]:
        """The usual split (FSDD's README): takes 0-4 test, 5-49 train."""
        return "test" if self.take < 5 else "train"


def fsdd_files(name: str | RemoteDataset = "fsdd", *, quiet: bool = False) -> list[SpokenDigit]:
    """Every recording of the Free Spoken Digit Dataset, fetched and verified, by (digit, speaker, take)."""
    dataset = _of_kind(name, "audio", "fsdd_files")
    folder = fetch(dataset, quiet=quiet)
    clips = []
    for file in dataset.files:
        match = _FSDD_NAME.fullmatch(Path(file.path).name)
        if match is None:
            raise DataError(f"fsdd_files: {file.path!r} in {dataset.name!r} is not named "
                            f"{{digit}}_{{speaker}}_{{take}}.wav")
        clips.append(SpokenDigit(path=folder / file.path, digit=int(match["digit"]), speaker=match["speaker"],
                                 take=int(match["take"])))
    return sorted(clips, key=lambda c: (c.digit, c.speaker, c.take))
