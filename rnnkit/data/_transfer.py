"""Moving one file from a source (a mirror folder, a URL) into the cache, atomically; and the progress line.

The policy (which sources, in which order, what is trusted) lives in `rnnkit.data.fetch`; this module
only moves bytes and checks them.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnnkit.data.remote import RemoteDataset, RemoteFile

__all__ = ["CacheNotWritable", "Folder", "Progress", "SourceFailed", "Url", "source_for_mirror", "store"]

_CHUNK = 1 << 16


class SourceFailed(Exception):
    """One source could not deliver one file (missing, HTTP error, offline, cut off, wrong checksum);
    the next source is tried. The message names the source."""


class CacheNotWritable(Exception):
    """The cache folder cannot be written: no other source can help."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"{path}: {error}")
        self.path, self.error = path, error


@dataclass(frozen=True)
class Folder:
    """A mirror folder: a file lies at `root/<folder>/<path>`."""

    root: Path

    def where(self, dataset: RemoteDataset, file: RemoteFile) -> str:
        return str(self.root / dataset.folder / file.path)

    def open(self, dataset: RemoteDataset, file: RemoteFile, timeout: float) -> BinaryIO:  # noqa: ARG002
        path = Path(self.where(dataset, file))
        if not self.root.is_dir():
            raise SourceFailed(f"the mirror folder {self.root} (RNNKIT_DATA_MIRROR) does not exist")
        if not path.is_file():
            raise SourceFailed(f"the mirror has no {path}")
        return open(path, "rb")


@dataclass(frozen=True)
class Url:
    """The canonical URL (`base=None`), or a mirror's base URL: a file at `base/<folder>/<path>`."""

    base: str | None = None

    def where(self, dataset: RemoteDataset, file: RemoteFile) -> str:
        if self.base is None:
            return dataset.url(file)
        return f"{self.base.rstrip('/')}/{dataset.folder}/{urllib.parse.quote(file.path)}"

    def open(self, dataset: RemoteDataset, file: RemoteFile, timeout: float) -> BinaryIO:
        from rnnkit import __version__

        url = self.where(dataset, file)
        request = urllib.request.Request(url, headers={"User-Agent": f"rnnkit/{__version__}"})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - URLs from the registry
        except urllib.error.HTTPError as error:
            error.close()
            raise SourceFailed(f"{url} answered HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:  # offline, DNS, refused
            raise SourceFailed(f"{url} could not be reached ({error.reason})") from None
        except (OSError, http.client.HTTPException, ValueError) as error:  # a timeout, a reset, a bad URL
            raise SourceFailed(f"{url} could not be read ({type(error).__name__}: {error})") from None
        offered = response.headers.get("Content-Length")
        if offered is not None and offered.isdigit() and int(offered) != file.size:
            response.close()
            raise SourceFailed(f"{url} offers {int(offered):,} bytes, expected {file.size:,}")
        return response


def source_for_mirror(mirror: str) -> Folder | Url:
    """`$RNNKIT_DATA_MIRROR` as a source: http(s)/ftp URLs are base URLs, anything else (or file://) a folder."""
    if mirror.startswith("file://"):
        return Folder(Path(urllib.request.url2pathname(urllib.parse.urlparse(mirror).path)))
    if "://" in mirror:
        return Url(mirror)
    return Folder(Path(mirror).expanduser())


class Progress:
    """One stderr line, rewritten at most 10 times a second: `fetching fsdd: 3.1/21.1 MB (15 %), 450/3000 files`.
    Silent unless enabled (the caller passes `not quiet and stderr is a terminal`). Thread-safe."""

    def __init__(self, label: str, *, total: int, files: int, enabled: bool) -> None:
        self.label, self.total, self.files, self.enabled = label, total, files, enabled
        self.done = self.done_files = 0
        self.shown = 0.0
        self.lock = threading.Lock()

    def advance(self, size: int, *, file_done: bool = False) -> None:
        with self.lock:
            self.done += size
            self.done_files += file_done
            now = time.monotonic()
            if self.enabled and (now - self.shown > 0.1 or self.done_files == self.files):
                self.shown = now
                percent = 100 * self.done / self.total if self.total else 100.0
                counts = f", {self.done_files}/{self.files} files" if self.files > 1 else ""
                sys.stderr.write(f"\rfetching {self.label}: {self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB "
                                 f"({percent:.0f} %){counts}  ")
                sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _temporary(dest: Path) -> tuple[int, str]:
    """A new file beside `dest`, created with the umask's permissions (mkstemp's are 0600: a shared
    cache would be unreadable to others)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp = str(dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part")
        with suppress(FileExistsError):
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), temp


def store(stream: BinaryIO, dest: Path, file: RemoteFile, *, where: str, progress: Progress) -> os.stat_result:
    """Copy `stream` to `dest`: into a temporary file beside it, hashed while written, fsync'ed, checked for
    size and sha256, then renamed over `dest`. On any failure the temporary file is removed: `dest` is
    either untouched or the verified file. Returns the stat of `dest`."""
    try:
        fd, temp = _temporary(dest)
    except OSError as error:
        raise CacheNotWritable(dest.parent, error) from None
    size = 0
    read = getattr(stream, "read1", stream.read)  # what has arrived, up to _CHUNK: progress stays live
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = read(_CHUNK)
                except (OSError, http.client.HTTPException) as error:  # a reset, a timeout, IncompleteRead
                    raise SourceFailed(f"{where}: the transfer broke after {size:,} of {file.size:,} bytes "
                                       f"({type(error).__name__}: {error})") from None
                if not chunk:
                    break
                if size + len(chunk) > file.size:
                    raise SourceFailed(f"{where} sent more than the expected {file.size:,} bytes")
                try:
                    out.write(chunk)
                except OSError as error:  # a full disk
                    raise CacheNotWritable(dest.parent, error) from None
                digest.update(chunk)
                size += len(chunk)
                progress.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if size != file.size:
            raise SourceFailed(f"{where} ended after {size:,} of {file.size:,} bytes (the transfer was cut off)")
        got = digest.hexdigest()
        if got != file.sha256:
            raise SourceFailed(f"{where} has the wrong content: sha256 expected {file.sha256}, got {got}")
        os.replace(temp, dest)
    except BaseException:
        progress.advance(-size)
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    progress.advance(0, file_done=True)
    return dest.stat()
