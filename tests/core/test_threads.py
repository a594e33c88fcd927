"""The OpenMP wait policy rnnkit chooses at import (rnnkit/_threads.py)."""

import os
import subprocess
import sys

from rnnkit._threads import prefer_passive_wait


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

