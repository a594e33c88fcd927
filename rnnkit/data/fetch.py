"""Bring a remote dataset's files into the local cache, verified, from the cache, a mirror or the source.

    >>> from rnnkit.data import fetch
    >>> folder = fetch("tiny_shakespeare")          # ~/.cache/rnnkit/datasets/tinyshakespeare
    >>> text = (folder / "input.txt").read_text()

Where each file comes from, in this order:
1. the cache, `$RNNKIT_DATA_DIR` (default `~/.cache/rnnkit/datasets`), laid out `<folder>/<path>`;
2. the mirror `$RNNKIT_DATA_MIRROR`, laid out the same way: a folder (the file is copied into the cache)
   or a base URL (`<url>/<folder>/<path>`, downloaded like the canonical source);
3. the canonical URL from the registry (`rnnkit.data.remote`).
A source that fails (missing, 404, offline, wrong checksum) hands over to the next; when all fail the
error is one line naming the URL, the expected file in the cache and how to fix it.

Rules that make a cache and a mirror folder interchangeable and safe:
- Writes are atomic: a file is streamed to a temporary file in its destination folder, hashed while it
  is written, fsync'ed, checked for size and sha256, and only then renamed into place (`os.replace`).
  Any error (checksum, a cut-off transfer, 404, a timeout, Ctrl-C) removes the temporary file, so a
  partial or wrong file is never at a cache path.
- A cached file is trusted without hashing only if `<folder>/.rnnkit-verified.json` records it with the
  expected sha256 and its current size and mtime (written after rnnkit verified it). Any other file at a
  cache path (put there by hand, or changed since) is hashed once: a match is recorded, a mismatch is
  removed and fetched again.
- A mirror folder is copied rather than read in place: loaders only ever see cache paths, a mirror may be
  read-only or on a slow share, and the cache's record spares re-hashing it on every run.
- A cache that cannot be written is an error naming it and `$RNNKIT_DATA_DIR`, not a silent fallback to
  a temporary folder (which would download everything again on every run). A read-only cache that
  already holds verified files is fine.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data._errors import DataError
from rnnkit.data._transfer import CacheNotWritable, Folder, Progress, SourceFailed, Url, source_for_mirror, store
from rnnkit.data.remote import RemoteDataset, RemoteFile, remote_dataset

__all__ = ["CacheStatus", "FetchError", "cache_status", "data_dir", "data_mirror", "fetch"]

DATA_DIR_ENV = "RNNKIT_DATA_DIR"
MIRROR_ENV = "RNNKIT_DATA_MIRROR"
DEFAULT_DATA_DIR = "~/.cache/rnnkit/datasets"
_RECORD = ".rnnkit-verified.json"  # per dataset folder: {"files": {path: {sha256, size, mtime_ns}}}


class FetchError(DataError):
    """A remote dataset's file could not be brought into the cache; the message says how to fix it."""

    def __init__(self, message: str, *, url: str | None = None, path: Path | None = None) -> None:
        super().__init__(message)
        self.url = url  # the canonical URL of the file at fault
        self.path = path  # where that file belongs in the cache (or the cache folder that cannot be written)


def data_dir() -> Path:
    """The cache folder: `$RNNKIT_DATA_DIR`, else `~/.cache/rnnkit/datasets`."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def data_mirror() -> str | None:
    """`$RNNKIT_DATA_MIRROR` (a folder or a base URL laid out like the sources), or None when unset."""
    return os.environ.get(MIRROR_ENV) or None


def _sources() -> list[Folder | Url]:
    mirror = data_mirror()
    return [source_for_mirror(mirror), Url()] if mirror is not None else [Url()]


# ---- what the cache holds -----------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_record(folder: Path) -> dict[str, dict]:
    try:
        files = json.loads((folder / _RECORD).read_text(encoding="utf-8"))["files"]
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):  # none yet, unreadable or corrupt: hash again
        return {}


def _write_record(folder: Path, record: dict[str, dict]) -> None:
    from rnnkit.saving._atomic import atomic_write

    text = json.dumps({"version": 1, "files": record}, separators=(",", ":"), sort_keys=True)
    with suppress(OSError):  # a read-only cache: its files are hashed again next time
        atomic_write(folder / _RECORD, lambda temp: Path(temp).write_text(text, encoding="utf-8"))


def _entry(file: RemoteFile, stat: os.stat_result) -> dict:
    return {"sha256": file.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _trusted(dest: Path, file: RemoteFile, entry: dict | None) -> os.stat_result | None:
    """The stat of the file at `dest` if it is the right one (by the record when it matches, else by
    hashing it); None if it is missing or wrong."""
    try:
        stat = dest.stat()
    except OSError:
        return None
    if stat.st_size != file.size:
        return None
    return stat if entry == _entry(file, stat) or _sha256(dest) == file.sha256 else None


@dataclass(frozen=True, kw_only=True)
class CacheStatus:
    """How much of a remote dataset is in the cache (files of the right size; `fetch` verifies them)."""

    name: str
    folder: Path  # where its files are (or would be) cached
    cached_files: int
    total_files: int
    cached_bytes: int
    total_bytes: int

    @property
    def complete(self) -> bool:
        return self.cached_files == self.total_files


def cache_status(name: str | RemoteDataset) -> CacheStatus:
    """What of `name` is in the cache, without hashing or any network access."""
    dataset = remote_dataset(name)
    folder = data_dir() / dataset.folder
    cached = []
    for file in dataset.files:
        with suppress(OSError):
            if (folder / file.path).stat().st_size == file.size:
                cached.append(file.size)
    return CacheStatus(name=dataset.name, folder=folder, cached_files=len(cached), total_files=len(dataset.files),
                       cached_bytes=sum(cached), total_bytes=dataset.size)


# ---- fetching -----------------------------------------------------------------------------


def _not_writable(failure: CacheNotWritable) -> FetchError:
    origin = (f"${DATA_DIR_ENV}={os.environ[DATA_DIR_ENV]}" if os.environ.get(DATA_DIR_ENV)
              else f"the default {DEFAULT_DATA_DIR} (${DATA_DIR_ENV} is unset)")
    error = failure.error
    return FetchError(f"cannot write to the dataset cache at {failure.path} ({type(error).__name__}: "
                      f"{error.strerror or error}); the cache is {origin}. Set {DATA_DIR_ENV} to a writable "
                      f"folder, e.g. `export {DATA_DIR_ENV}=/tmp/rnnkit-datasets`", path=failure.path)


def _fetch_one(dataset: RemoteDataset, file: RemoteFile, dest: Path, progress: Progress,
               timeout: float) -> os.stat_result:
    """Bring one file to `dest` from the first source that delivers it verified."""
    reasons = []
    for source in _sources():
        where = source.where(dataset, file)
        try:
            with source.open(dataset, file, timeout) as stream:
                return store(stream, dest, file, where=where, progress=progress)
        except SourceFailed as failed:
            reasons.append(str(failed))
        except CacheNotWritable as failure:
            raise _not_writable(failure) from None
    if data_mirror() is None:
        reasons.append(f"no {MIRROR_ENV} is set")
    url = dataset.url(file)
    raise FetchError(
        f"{dataset.name}: cannot fetch {dataset.folder}/{file.path}: {'; '.join(reasons)}. To fix: download {url} "
        f"to {dest} ({file.size:,} bytes, sha256 {file.sha256}), or set {MIRROR_ENV} to a folder or base URL "
        f"laid out like the sources (<mirror>/{dataset.folder}/{file.path})", url=url, path=dest)


def fetch(name: str | RemoteDataset, *, files: Iterable[str] | None = None, quiet: bool = False,
          timeout: float = 60.0, workers: int = 8) -> Path:
    """Make sure the files of a remote dataset are in the cache, verified; return its cache folder
    (`data_dir() / dataset.folder`, laid out like the sources).

    Args:
        name: a registered remote dataset (`rnnkit.data.remote_datasets()`), or a RemoteDataset.
        files: only these paths inside the dataset's folder (default: all of them).
        quiet: no progress line (it is shown only when stderr is a terminal anyway).
        timeout: seconds a connection may stay silent before that source counts as failed.
        workers: files fetched at once (FSDD is 3000 small files).
    """
    dataset = remote_dataset(name)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"fetch: workers must be an int >= 1; got {workers!r}")
    if isinstance(files, str):
        raise TypeError(f"fetch: files must be a list of paths inside the dataset's folder; got the string {files!r}"
                        f" (use files=[{files!r}])")
    wanted = dataset.files if files is None else tuple(dataset.file(path) for path in dict.fromkeys(files))
    folder = data_dir() / dataset.folder
    record = _read_record(folder)
    recorded = dict(record)
    missing = []
    for file in wanted:
        dest = folder / file.path
        stat = _trusted(dest, file, record.get(file.path))
        if stat is not None:
            record[file.path] = _entry(file, stat)
            continue
        record.pop(file.path, None)
        with suppress(OSError):  # a wrong file (by hand, or changed): fetched again below
            dest.unlink()
        missing.append(file)
    progress = Progress(dataset.name, total=sum(f.size for f in missing), files=len(missing),
                        enabled=not quiet and sys.stderr.isatty())
    try:
        if len(missing) == 1 or workers == 1:
            for file in missing:
                record[file.path] = _entry(file, _fetch_one(dataset, file, folder / file.path, progress, timeout))
        elif missing:
            _fetch_many(dataset, missing, folder, record, progress, timeout, workers)
    finally:
        progress.close()
        if record != recorded:  # after a failure too: the files that did arrive are not hashed again
            _write_record(folder, record)
    return folder


def _fetch_many(dataset: RemoteDataset, missing: list[RemoteFile], folder: Path, record: dict[str, dict],
                progress: Progress, timeout: float, workers: int) -> None:
    """Fetch files on `workers` threads. On the first failure the files not started are cancelled, the ones
    that arrived are recorded, and the failure is raised."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rnnkit-fetch") as pool:
        futures = {pool.submit(_fetch_one, dataset, f, folder / f.path, progress, timeout): f for f in missing}
        try:
            for future, file in futures.items():
                record[file.path] = _entry(file, future.result())
        except BaseException:  # a failed file, or Ctrl-C while waiting
            pool.shutdown(wait=True, cancel_futures=True)
            for future, file in futures.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    record[file.path] = _entry(file, future.result())
            raise
