"""The registry of remote datasets: a name, where its files come from, their sizes and checksums.

| name             | folder          | kind     | licence                                  | files |
|------------------|-----------------|----------|------------------------------------------|-------|
| tiny_shakespeare | tinyshakespeare | text     | public domain                            | 1     |
| multi30k         | multi30k        | parallel | research use (Multi30k/Flickr30k terms)  | 6     |
| fsdd             | fsdd            | audio    | CC BY-SA 4.0                             | 3000  |

Each dataset is described by a JSON manifest shipped with rnnkit (`rnnkit/data/manifests/<name>.json`,
written once by `tools/make_manifest.py`): nothing is computed or listed at run time. A file's
canonical URL is `base_url + path`; in a mirror and in the cache it lies at `<folder>/<path>`.
`rnnkit.data.fetch` brings the files to disk; this module only says what they are.

Extra datasets (a test's, a user's) are added with `register_remote_dataset` and removed with
`unregister_remote_dataset`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from rnnkit.data._errors import DataError

__all__ = [
    "RemoteDataset",
    "RemoteFile",
    "register_remote_dataset",
    "remote_dataset",
    "remote_dataset_names",
    "remote_datasets",
    "unregister_remote_dataset",
]

Kind = Literal["text", "parallel", "audio", "other"]
_KINDS = ("text", "parallel", "audio", "other")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MANIFESTS = ("tiny_shakespeare", "multi30k", "fsdd")  # rnnkit/data/manifests/<name>.json, in this order


@dataclass(frozen=True, kw_only=True)
class RemoteFile:
    """One file of a remote dataset."""

    path: str  # POSIX path inside the dataset's folder: "input.txt", "recordings/0_george_0.wav"
    size: int  # bytes
    sha256: str  # lowercase hex

    def __post_init__(self) -> None:
        parts = self.path.split("/")
        if not self.path or self.path.startswith("/") or "\\" in self.path or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"RemoteFile: path must be a relative POSIX path without '.' or '..' parts "
                             f"(e.g. 'recordings/a.wav'); got {self.path!r}")
        if not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"RemoteFile {self.path!r}: size must be an int >= 0 (bytes); got {self.size!r}")
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"RemoteFile {self.path!r}: sha256 must be 64 lowercase hex digits; got {self.sha256!r}")


@dataclass(frozen=True, kw_only=True)
class RemoteDataset:
    """A dataset fetched from its sources: what `rnnkit datasets` lists and `rnnkit.data.fetch` downloads."""

    name: str  # registry key: "tiny_shakespeare"
    folder: str  # where its files lie in a mirror and in the cache: "tinyshakespeare"
    base_url: str  # canonical URL of a file = base_url + file.path (ends with "/")
    files: tuple[RemoteFile, ...]
    licence: str
    description: str  # what it holds, one line
    kind: Kind = "other"  # which loader reads it: load_text, load_parallel, fsdd_files
    title: str = ""  # the dataset's own name and version
    source: str = ""  # where it is published (a homepage, the archive it comes from)
    splits: tuple[str, ...] = ()  # parallel: files are <split>.<language>.gz
    languages: tuple[str, ...] = ()  # parallel: in the order load_parallel returns them

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", self.name):
            raise ValueError(f"RemoteDataset: name must be lowercase letters, digits and '_'; got {self.name!r}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.folder):
            raise ValueError(f"RemoteDataset {self.name!r}: folder must be one plain folder name; got {self.folder!r}")
        if not self.base_url.endswith("/"):
            raise ValueError(f"RemoteDataset {self.name!r}: base_url must end with '/' (file URLs are "
                             f"base_url + path); got {self.base_url!r}")
        if not self.files:
            raise ValueError(f"RemoteDataset {self.name!r}: files must list at least one RemoteFile; got none")
        if self.kind not in _KINDS:
            raise ValueError(f"RemoteDataset {self.name!r}: kind must be one of {', '.join(_KINDS)}; got {self.kind!r}")
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"RemoteDataset {self.name!r}: files lists a path twice")

    @property
    def size(self) -> int:
        """Bytes of all its files."""
        return sum(f.size for f in self.files)

    def url(self, file: RemoteFile) -> str:
        """The canonical URL of one of its files."""
        return self.base_url + file.path

    def file(self, path: str) -> RemoteFile:
        """The file at `path` inside the dataset's folder."""
        for entry in self.files:
            if entry.path == path:
                return entry
        raise DataError(f"dataset {self.name!r} has no file {path!r}; it has {len(self.files)} files, "
                        f"e.g. {', '.join(f.path for f in self.files[:3])}")


def _from_manifest(data: dict) -> RemoteDataset:
    files = tuple(RemoteFile(path=f["path"], size=f["size"], sha256=f["sha256"]) for f in data["files"])
    fields = {k: v for k, v in data.items() if k != "files"}
    for key in ("splits", "languages"):
        fields[key] = tuple(fields.get(key, ()))
    return RemoteDataset(files=files, **fields)


def _load_manifest(name: str) -> RemoteDataset:
    text = resources.files("rnnkit.data").joinpath("manifests", f"{name}.json").read_text(encoding="utf-8")
    return _from_manifest(json.loads(text))


_REGISTRY: dict[str, RemoteDataset] = {}
_SHIPPED_LOADED = False


def _registry() -> dict[str, RemoteDataset]:
    # The manifests are read on first use: fsdd.json lists 3000 files and most programs never look.
    global _SHIPPED_LOADED
    if not _SHIPPED_LOADED:
        _REGISTRY.update({name: _load_manifest(name) for name in _MANIFESTS})
        _SHIPPED_LOADED = True
    return _REGISTRY


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "")


def register_remote_dataset(dataset: RemoteDataset, *, replace: bool = False) -> RemoteDataset:
    """Add a dataset to the registry (for tests, or a user's own mirror of another corpus); returns it."""
    if not isinstance(dataset, RemoteDataset):
        raise TypeError(f"register_remote_dataset: dataset must be a RemoteDataset; got {type(dataset).__name__}")
    registry = _registry()
    clash = next((n for n in registry if _key(n) == _key(dataset.name)), None)
    if clash is not None and not replace:
        raise ValueError(f"register_remote_dataset: a dataset named {clash!r} is already registered; "
                         f"pass replace=True to replace it")
    if clash is not None:
        del registry[clash]
    registry[dataset.name] = dataset
    return dataset


def unregister_remote_dataset(name: str) -> None:
    """Remove a dataset added with `register_remote_dataset` (unknown names are ignored)."""
    registry = _registry()
    for key in [n for n in registry if _key(n) == _key(name)]:
        del registry[key]


def remote_dataset_names() -> tuple[str, ...]:
    return tuple(_registry())


def remote_datasets() -> tuple[RemoteDataset, ...]:
    """Every registered remote dataset, shipped ones first."""
    return tuple(_registry().values())


def remote_dataset(name: str | RemoteDataset) -> RemoteDataset:
    """The dataset registered as `name`, ignoring case, `-` and `_` (`tinyshakespeare` works); a
    RemoteDataset is returned as it is."""
    if isinstance(name, RemoteDataset):
        return name
    registry = _registry()
    found = next((d for n, d in registry.items() if _key(n) == _key(str(name))), None)
    if found is None:
        raise DataError(f"unknown remote dataset {name!r}; expected one of {', '.join(registry)} "
                        f"(`rnnkit datasets` lists them)")
    return found
