"""rnnkit.data.fetch against a local HTTP server on 127.0.0.1: downloads, reuse, mirrors, and every way a
download can fail leaving nothing in the cache."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest

from rnnkit.data import (
    DataError,
    FetchError,
    RemoteDataset,
    RemoteFile,
    cache_status,
    fetch,
    load_parallel,
    load_text,
    register_remote_dataset,
    remote_dataset,
    unregister_remote_dataset,
)

FILES = {"a.txt": b"first file\n" * 300, "sub/b.bin": bytes(range(256)) * 40}


class Server:
    """Serves `content` {url path: bytes}; `cut` paths send half their bytes under a full Content-Length and
    close; `stall` paths send half and then nothing; `wrong` paths send other bytes of the same size.
    Records every requested path."""

    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.stall: set[str] = set()
        self.wrong: set[str] = set()
        self.closing = threading.Event()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                body = server.content.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                if self.path in server.wrong:
                    body = bytes(255 - b for b in body)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.path in server.stall:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server.closing.wait(10)
                    return
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: what an offline machine sees (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def make_dataset(base_url: str, name: str = "fetch_test", content: dict[str, bytes] = FILES) -> RemoteDataset:
    files = tuple(RemoteFile(path=p, size=len(b), sha256=hashlib.sha256(b).hexdigest()) for p, b in content.items())
    return RemoteDataset(name=name, folder="fetchtest", base_url=base_url, files=files, licence="test",
                         description="two small files")


@pytest.fixture
def server():
    server = Server()
    server.content = {f"/data/{p}": b for p, b in FILES.items()}
    yield server
    server.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNKIT_DATA_MIRROR", raising=False)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def dataset(server, cache):
    registered = register_remote_dataset(make_dataset(server.url + "/data/"))
    yield registered
    unregister_remote_dataset(registered.name)


def test_fetch_downloads_verifies_and_reuses_the_cache(dataset, server, cache, capsys):
    folder = fetch("fetch_test")
    assert folder == cache / "fetchtest"
    assert {p: (folder / p).read_bytes() for p in FILES} == FILES
    assert sorted(server.requests) == ["/data/a.txt", "/data/sub/b.bin"]
    assert files_under(folder) == [".rnnkit-verified.json", "a.txt", "sub/b.bin"]  # no temporary file left
    assert fetch("Fetch-Test") == folder and len(server.requests) == 2  # the second fetch asks nothing
    assert capsys.readouterr().err == ""  # no progress line off a terminal
    status = cache_status("fetch_test")
    assert status.complete and status.cached_bytes == status.total_bytes == sum(map(len, FILES.values()))


def test_a_changed_cached_file_is_fetched_again(dataset, server, cache):
    folder = fetch(dataset)
    (folder / "a.txt").write_bytes(b"x" * len(FILES["a.txt"]))  # same size, other content: caught by mtime+hash
    fetch(dataset)
    assert (folder / "a.txt").read_bytes() == FILES["a.txt"] and server.requests.count("/data/a.txt") == 2


def test_a_file_put_in_the_cache_by_hand_is_verified_and_kept(dataset, server, cache):
    for path, body in FILES.items():
        (cache / "fetchtest" / path).parent.mkdir(parents=True, exist_ok=True)
        (cache / "fetchtest" / path).write_bytes(body)
    fetch(dataset)
    assert server.requests == []


def test_only_the_files_asked_for(dataset, server, cache):
    fetch(dataset, files=["sub/b.bin"])
    assert server.requests == ["/data/sub/b.bin"] and cache_status(dataset).cached_files == 1
    with pytest.raises(DataError, match="has no file 'c.txt'"):
        fetch(dataset, files=["c.txt"])
    with pytest.raises(TypeError, match=r"files=\['a.txt'\]"):
        fetch(dataset, files="a.txt")


def test_checksum_mismatch_is_an_error_and_leaves_nothing(dataset, server, cache):
    server.wrong.add("/data/a.txt")
    with pytest.raises(FetchError) as caught:
        fetch(dataset, files=["a.txt"])
    expected = hashlib.sha256(FILES["a.txt"]).hexdigest()
    got = hashlib.sha256(bytes(255 - b for b in FILES["a.txt"])).hexdigest()
    assert f"expected {expected}, got {got}" in str(caught.value) and "\n" not in str(caught.value)
    assert files_under(cache) == []


def test_a_download_cut_off_half_way_leaves_no_partial_file(dataset, server, cache):
    server.cut.add("/data/sub/b.bin")
    with pytest.raises(FetchError, match=r"sub/b\.bin ended after 5,120 of 10,240 bytes \(the transfer was cut off\)"):
        fetch(dataset, files=["sub/b.bin"])
    assert files_under(cache) == []
    server.cut.clear()
    assert (fetch(dataset) / "sub/b.bin").read_bytes() == FILES["sub/b.bin"]


def test_a_stalled_download_times_out_and_leaves_nothing(dataset, server, cache):
    server.stall.add("/data/a.txt")
    with pytest.raises(FetchError, match=r"a\.txt: the transfer broke after 1,650 of 3,300 bytes \(TimeoutError"):
        fetch(dataset, files=["a.txt"], timeout=0.3)
    assert files_under(cache) == []


def test_404_names_the_url(dataset, server, cache):
    del server.content["/data/a.txt"]
    with pytest.raises(FetchError, match=rf"{server.url}/data/a\.txt answered HTTP 404") as caught:
        fetch(dataset)
    assert caught.value.url == f"{server.url}/data/a.txt" and caught.value.path == cache / "fetchtest" / "a.txt"
    assert "a.txt" not in files_under(cache)


def test_several_files_at_once_one_failing(server, cache):
    content = {f"f{i:02d}.bin": bytes([i]) * (1000 + i) for i in range(24)}
    server.content = {f"/many/{p}": b for p, b in content.items()}
    del server.content["/many/f13.bin"]
    many = make_dataset(server.url + "/many/", name="fetch_many", content=content)
    with pytest.raises(FetchError, match="f13.bin answered HTTP 404"):
        fetch(many, workers=4)
    arrived = files_under(cache / "fetchtest")
    assert "f13.bin" not in arrived and not any(p.endswith(".part") for p in arrived)
    server.content["/many/f13.bin"] = content["f13.bin"]
    before = len(server.requests)
    fetch(many, workers=4)
    assert len(server.requests) - before == len(content) - len([p for p in arrived if p.endswith(".bin")])
    assert all((cache / "fetchtest" / p).read_bytes() == b for p, b in content.items())


def test_mirror_folder(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "mirror"
    for path, body in FILES.items():
        (mirror / "fetchtest" / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / "fetchtest" / path).write_bytes(body)
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(mirror))
    offline = make_dataset(closed_port_url())  # the source cannot be reached: only the mirror can serve
    folder = fetch(offline)
    assert {p: (folder / p).read_bytes() for p in FILES} == FILES
    assert not (folder / "a.txt").is_symlink() and folder != mirror / "fetchtest"  # copied into the cache
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", (mirror / "x").as_uri().removesuffix("/x"))  # file:// works too
    assert fetch(offline) == folder


def test_a_mirror_folder_lacking_a_file_falls_back_to_the_source(dataset, server, tmp_path, cache, monkeypatch):
    (tmp_path / "mirror" / "fetchtest").mkdir(parents=True)
    (tmp_path / "mirror" / "fetchtest" / "a.txt").write_bytes(FILES["a.txt"])
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(tmp_path / "mirror"))
    fetch(dataset)
    assert server.requests == ["/data/sub/b.bin"]


def test_mirror_base_url(server, cache, monkeypatch):
    server.content = {f"/mirror/fetchtest/{p}": b for p, b in FILES.items()}
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", server.url + "/mirror/")
    folder = fetch(make_dataset(closed_port_url()))
    assert sorted(server.requests) == ["/mirror/fetchtest/a.txt", "/mirror/fetchtest/sub/b.bin"]
    assert {p: (folder / p).read_bytes() for p in FILES} == FILES


def test_offline_with_no_mirror_and_no_cache_is_one_clear_line(cache):
    offline = make_dataset(closed_port_url())
    with pytest.raises(FetchError) as caught:
        fetch(offline, files=["a.txt"])
    message = str(caught.value)
    assert "\n" not in message
    assert f"{offline.base_url}a.txt could not be reached" in message  # the URL
    assert f"to {cache / 'fetchtest' / 'a.txt'}" in message  # the expected file
    assert "no RNNKIT_DATA_MIRROR is set" in message and "or set RNNKIT_DATA_MIRROR to a folder" in message
    assert files_under(cache) == []


def test_a_cache_that_cannot_be_created(dataset, server, tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path / "a_file" / "cache"))
    with pytest.raises(FetchError, match=r"cannot write to the dataset cache .*RNNKIT_DATA_DIR=.*a_file/cache.*"
                                         r"Set RNNKIT_DATA_DIR to a writable folder"):
        fetch(dataset)


def test_a_read_only_cache(dataset, server, cache):
    folder = fetch(dataset, files=["a.txt"])
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not make a folder read-only")
        assert fetch(dataset, files=["a.txt"]) == folder  # verified files are still served
        with pytest.raises(FetchError, match="cannot write to the dataset cache .*RNNKIT_DATA_DIR"):
            fetch(dataset)
    finally:
        os.chmod(folder, 0o755)
    assert files_under(folder) == [".rnnkit-verified.json", "a.txt"]


def test_a_read_only_cache_simulated(dataset, server, cache, monkeypatch):
    """The same as above where chmod cannot make a folder read-only (root): creating a file fails."""
    import rnnkit.data._transfer as transfer

    folder = fetch(dataset, files=["a.txt"])

    def refuse(dest):
        raise PermissionError(13, "Permission denied", str(dest))

    monkeypatch.setattr(transfer, "_temporary", refuse)
    assert fetch(dataset, files=["a.txt"]) == folder
    with pytest.raises(FetchError, match=r"cannot write to the dataset cache at .*fetchtest/sub \(PermissionError: "
                                         r"Permission denied\); the cache is \$RNNKIT_DATA_DIR="):
        fetch(dataset)
    assert files_under(folder) == [".rnnkit-verified.json", "a.txt"]


def test_progress_line_on_a_terminal(dataset, server, cache, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    fetch(dataset)
    err = capsys.readouterr().err
    assert err.startswith("\rfetching fetch_test: ") and "(100 %), 2/2 files" in err and err.endswith("\n")
    fetch(dataset, files=["a.txt"])
    assert capsys.readouterr().err == ""  # nothing to fetch: no line
    (cache / "fetchtest" / "a.txt").unlink()
    fetch(dataset, quiet=True)
    assert capsys.readouterr().err == ""


def test_registry_rules(dataset):
    with pytest.raises(ValueError, match="already registered"):
        register_remote_dataset(dataset)
    assert register_remote_dataset(dataset, replace=True) is remote_dataset("FETCH_TEST")
    with pytest.raises(DataError, match="unknown remote dataset 'nope'; expected one of tiny_shakespeare, multi30k, fsdd"):
        fetch("nope")
    with pytest.raises(ValueError, match=r"path must be a relative POSIX path .* got '../x'"):
        RemoteFile(path="../x", size=1, sha256="0" * 64)
    with pytest.raises(ValueError, match="sha256 must be 64 lowercase hex digits"):
        RemoteFile(path="x", size=1, sha256="abc")
    with pytest.raises(ValueError, match="base_url must end with '/'"):
        make_dataset("http://example.org/data")
    with pytest.raises(ValueError, match="workers must be an int >= 1; got 0"):
        fetch(dataset, workers=0)


def test_shipped_registry():
    names = {d.name: d for d in map(remote_dataset, ("tiny_shakespeare", "multi30k", "fsdd"))}
    assert len(names["fsdd"].files) == 3000 and names["fsdd"].licence == "CC BY-SA 4.0"
    assert names["tiny_shakespeare"].url(names["tiny_shakespeare"].files[0]) == (
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt")
    assert names["multi30k"].splits == ("train", "val", "test_2016_flickr") and names["multi30k"].languages == ("de", "en")


def test_loaders_on_a_mirror(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "mirror" / "pairs"
    mirror.mkdir(parents=True)
    content = {"train.xx.gz": gzip.compress("a b\nc\u2028d\n".encode()), "train.yy.gz": gzip.compress(b"A B\nC D\n"),
               "val.xx.gz": gzip.compress(b"one\n"), "val.yy.gz": gzip.compress(b"one\ntwo\n")}
    for path, body in content.items():
        (mirror / path).write_bytes(body)
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(tmp_path / "mirror"))
    files = tuple(RemoteFile(path=p, size=len(b), sha256=hashlib.sha256(b).hexdigest()) for p, b in content.items())
    pairs = RemoteDataset(name="fetch_pairs", folder="pairs", base_url=closed_port_url(), files=files, licence="test",
                          description="a parallel corpus", kind="parallel", splits=("train", "val"),
                          languages=("xx", "yy"))
    register_remote_dataset(pairs)
    try:
        assert load_parallel("fetch_pairs", split="train") == (["a b", "c\u2028d"], ["A B", "C D"])
        with pytest.raises(DataError, match="not line-aligned: xx has 1 lines, yy has 2 lines"):
            load_parallel("fetch_pairs", split="val")
        with pytest.raises(DataError, match="split must be one of 'train', 'val' for 'fetch_pairs'; got 'test'"):
            load_parallel("fetch_pairs", split="test")
        with pytest.raises(DataError, match="load_text: dataset 'fetch_pairs' holds parallel data, not text"):
            load_text("fetch_pairs")
    finally:
        unregister_remote_dataset("fetch_pairs")
