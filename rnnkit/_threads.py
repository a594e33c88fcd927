"""How OpenMP threads wait: passively, so that a busy machine does not collapse a multi-threaded run.

torch's intra-op threads (libgomp) spin at the end of every parallel region before they sleep. On a machine
where another process is busy, the spinning thread takes CPU time from the one the region waits for, and a
2-thread run falls far below a 1-thread run. Measured on the 2-core box (LSTM B64 T100 I32 H128, forward +
backward, one busy loop pinned to a core; bench/README.md "Threads under contention"):

    OMP_WAIT_POLICY   quiet: 2 threads / 1 thread   one core busy: 2 threads / 1 thread
    (libgomp default)            1.7x                            0.5-0.7x
    passive                      1.5x                            0.9x

libgomp reads the policy once, when torch loads it, so rnnkit sets ``OMP_WAIT_POLICY=PASSIVE`` when it is
imported *before* torch (the ``rnnkit`` command always is) and the user has not chosen a policy
(``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set: left alone; ``OMP_WAIT_POLICY=ACTIVE`` restores spinning).
Child processes (``torchrun`` workers) inherit it. Imported after torch, it changes nothing.
"""

from __future__ import annotations

import os
import sys

__all__ = ["prefer_passive_wait"]


def prefer_passive_wait(environ: dict | None = None, modules: dict | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` if torch is not loaded yet and no policy was chosen; True if it was set."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "torch" in modules or "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True

