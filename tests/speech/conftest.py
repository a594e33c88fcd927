"""Speech tests: one torch thread, and a few FSDD clips read straight from the shared mirror."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from rnnkit.data import SpokenDigit

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
RECORDINGS = MIRROR / "fsdd" / "recordings"
needs_mirror = pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"the FSDD mirror {RECORDINGS} is not here")


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def mirror_clips(*, speakers: tuple[str, ...] = ("george", "theo"), takes: range = range(0, 8)) -> list[SpokenDigit]:
    """FSDD clips of the mirror as `fsdd_files` gives them (without copying the dataset into a cache)."""
    clips = []
    for speaker in speakers:
        for digit in range(10):
            for take in takes:
                clips.append(SpokenDigit(path=RECORDINGS / f"{digit}_{speaker}_{take}.wav", digit=digit,
                                         speaker=speaker, take=take))
    return clips


def parse(name: str) -> SpokenDigit:
    digit, speaker, take = re.fullmatch(r"(\d)_([a-z]+)_(\d+)\.wav", name).groups()
    return SpokenDigit(path=RECORDINGS / name, digit=int(digit), speaker=speaker, take=int(take))
