"""The shipped registry against the real mirror `../shared/datasets` (beside the project root; CI points
RNNKIT_DATA_MIRROR there): every manifest entry is served and verified, and the loaders read what the
mirror's README says the datasets hold."""

from __future__ import annotations

import wave
from collections import Counter
from pathlib import Path

import pytest

from rnnkit.data import cache_status, fetch, fsdd_files, load_parallel, load_text, remote_dataset

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

pytestmark = pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(),
                                reason=f"the shared dataset mirror {MIRROR} is not on this machine")


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """One cache for the module, filled from the mirror with no network (the canonical URLs are never
    reached: each file is in the mirror)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNKIT_DATA_DIR", str(tmp_path_factory.mktemp("datasets")))
        patch.setenv("RNNKIT_DATA_MIRROR", str(MIRROR))
        yield


def test_the_manifests_match_the_mirrors_checksums():
    sums = dict(line.split()[::-1] for line in (MIRROR / "SHA256SUMS").read_text().splitlines() if line.strip())
    listed = {f"./{d.folder}/{f.path}": f.sha256 for d in map(remote_dataset, ("tiny_shakespeare", "multi30k", "fsdd"))
              for f in d.files}
    assert listed == sums


def test_tiny_shakespeare():
    text = load_text("tiny_shakespeare")
    assert len(text) == 1_115_394 and len(set(text)) == 65
    assert text.startswith("First Citizen:\n")


def test_multi30k():
    for split, pairs in (("train", 29_000), ("val", 1_014), ("test_2016_flickr", 1_000)):
        de, en = load_parallel("multi30k", split=split)
        assert len(de) == len(en) == pairs and all(de) and all(en)
    assert en[0] == "A man in an orange hat starring at something."


def test_fsdd():
    clips = fsdd_files(quiet=True)
    assert len(clips) == 3000 and all(c.path.is_file() for c in clips)
    assert Counter(c.speaker for c in clips) == {s: 500 for s in ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")}
    assert Counter(c.digit for c in clips) == {d: 300 for d in range(10)}
    assert Counter(c.split for c in clips) == {"train": 2700, "test": 300}
    with wave.open(str(clips[0].path)) as first:
        assert (first.getnchannels(), first.getframerate()) == (1, 8000)
    assert cache_status("fsdd").complete
    assert fetch("fsdd") == clips[0].path.parents[1]  # the second time: the cache's record, no copying
