"""The OpenMP wait policy rnnkit chooses at import, and the CLI's --threads default (rnnkit/_threads.py)."""

import os
import subprocess
import sys

from rnnkit._threads import default_threads, prefer_passive_wait


def test_passive_when_imported_before_torch():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import os, rnnkit, torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "PASSIVE"


def test_a_chosen_policy_or_a_loaded_torch_is_left_alone():
    assert prefer_passive_wait({"OMP_WAIT_POLICY": "ACTIVE"}, {}) is False
    assert prefer_passive_wait({"GOMP_SPINCOUNT": "1000"}, {}) is False
    environ: dict = {}
    assert prefer_passive_wait(environ, {"torch": object()}) is False and environ == {}
    assert prefer_passive_wait(environ, {}) is True and environ == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_default_threads_share_the_cores(monkeypatch):
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_threads() == 2                      # capped at the 2 that were measured
    assert default_threads(processes=8) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert default_threads() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")       # a torchrun worker beside another
    assert default_threads(processes=1) == 1
