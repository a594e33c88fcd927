"""`rnnkit datasets` lists the remote datasets: licence, size, and how much of each is cached where."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.data import RemoteDataset, RemoteFile, fetch, register_remote_dataset, unregister_remote_dataset


def test_datasets_lists_remote_sets_and_the_cache(tmp_path, monkeypatch, capsys):
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(cache))
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(mirror))
    content = {"a.txt": b"a" * 10, "b.txt": b"b" * 20}
    (mirror / "cli_test").mkdir(parents=True)
    (mirror / "cli_test" / "a.txt").write_bytes(content["a.txt"])
    files = tuple(RemoteFile(path=p, size=len(b), sha256=hashlib.sha256(b).hexdigest()) for p, b in content.items())
    register_remote_dataset(RemoteDataset(name="cli_test", folder="cli_test", base_url="http://127.0.0.1:9/",
                                          files=files, licence="CC0", description="two tiny files"))
    try:
        fetch("cli_test", files=["a.txt"])
        assert main(["datasets"]) == 0
    finally:
        unregister_remote_dataset("cli_test")
    out = capsys.readouterr().out
    assert "seattle_weather" in out  # the bundled ones first
    assert f"into the cache {cache} (set by $RNNKIT_DATA_DIR); mirror: {mirror} ($RNNKIT_DATA_MIRROR)" in out
    lines = out.splitlines()
    assert any(line.split() == ["tiny_shakespeare", "text", "1.1", "MB", "no", "public", "domain", "(Shakespeare's",
                                "text)"] for line in lines)
    assert any(line.split()[:2] == ["fsdd", "audio"] and line.endswith("CC BY-SA 4.0") for line in lines)
    assert any(line.split() == ["cli_test", "other", "0.0", "MB", "1/2", "files", "CC0"] for line in lines)


def test_datasets_fetch_downloads_one_set(tmp_path, monkeypatch, capsys):
    from rnnkit.cli import main

    mirror = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    if not (mirror / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip(f"the shared mirror is not at {mirror}")
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(mirror))
    assert main(["datasets", "--fetch", "tiny_shakespeare", "-q"]) == 0
    assert (tmp_path / "tinyshakespeare" / "input.txt").stat().st_size == 1115394
    assert main(["datasets", "--fetch", "no_such_set"]) == 2
    assert "unknown remote dataset 'no_such_set'" in capsys.readouterr().err
