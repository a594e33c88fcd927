"""Build (once) and load the C++ kernels: the step loops in ``rnn_kernels.cpp`` and the streaming steps in
``stream_kernels.cpp`` (one shared library; the headers ``rnn_math.h``, ``rnn_blas.h``, ``pool.h`` and ``denormals.h`` are shared).

The shared library is built with ``torch.utils.cpp_extension.load`` into a user cache directory,
``$RNNKIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/rnnkit`` (default ``~/.cache/rnnkit``), in a folder named by a
hash of the source, the compiler flags, torch/Python versions and the CPU, so a cached build is only
reused where it was made for. A warm cache imports the ``.so`` directly (no ninja run): ~0.1 s. A missing or
read-only cache costs a fresh build in a temporary folder (~30-40 s), never an error. If the build fails
(no compiler, no ninja, ...) ``load()`` returns False once, logs one note, and the callers fall back to
the pure-PyTorch kernels.

``RNNKIT_MARCH`` picks the instruction set the C++ is built for (``-march=...``): ``native`` (default: every
instruction this CPU has) or a portable target such as ``x86-64-v2`` / ``x86-64-v3``, so one machine can build
and test the code another CPU would run (float32 rounding differs with FMA contraction and vector width). The
value is part of the flags and so of the cache key; a value the compiler rejects, or a target with
instructions this CPU lacks (it would die of an illegal instruction), is refused with a note naming it, and
the PyTorch kernels run instead.

``RNNKIT_DISABLE_COMPILED=1`` skips the build entirely (the fallback path, for tests).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import warnings

import torch

__all__ = ["load", "is_available", "ops", "module", "build_error", "march"]

_log = logging.getLogger("rnnkit.kernels.compiled")
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = [os.path.join(_HERE, name) for name in ("rnn_kernels.cpp", "stream_kernels.cpp")]
_HEADERS = [os.path.join(_HERE, name) for name in ("rnn_math.h", "rnn_blas.h", "pool.h", "denormals.h")]
_lock = threading.Lock()
_state: dict = {"loaded": None, "error": None, "module": None}


def _has_fortran_blas() -> bool:
    """Does libtorch_cpu export MKL's sgemm_/dgemm_ (true for the x86 wheels)?"""
    lib = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        cdll = ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
        return hasattr(cdll, "sgemm_") and hasattr(cdll, "dgemm_")
    except OSError:
        return False


def _cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))][:2]
        return "".join(lines)
    except OSError:
        return ""


_MARCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def march() -> str:
    """The ``-march`` target: ``$RNNKIT_MARCH``, default ``native``. Raises ValueError for what is not a
    target name (the caller turns it into the fallback note)."""
    value = os.environ.get("RNNKIT_MARCH", "").strip() or "native"
    if not _MARCH_NAME.fullmatch(value):
        raise ValueError(f"RNNKIT_MARCH must name one -march target such as native, x86-64-v2 or x86-64-v3; "
                         f"got {value!r}")
    return value


def _isa_macros(target: str) -> set[str]:
    """The instruction-set macros (__AVX2__, __FMA__, ...) the compiler defines for -march=target."""
    from torch.utils.cpp_extension import get_cxx_compiler

    r = subprocess.run([get_cxx_compiler(), f"-march={target}", "-dM", "-E", "-x", "c++", os.devnull],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise ValueError(f"RNNKIT_MARCH={target!r} is not a target the compiler knows: "
                         f"{(r.stderr.strip().splitlines() or ['?'])[0][:200]}")
    isa = re.compile(r"#define (__(?:SSE|SSSE|AVX|FMA|F16C|BMI|LZCNT|POPCNT|MOVBE|AMX)\w*__) ")
    return {m.group(1) for m in isa.finditer(r.stdout)}


def _check_target_runs_here(target: str) -> None:
    """Refuse a target that uses instructions this CPU lacks, before building it (checked once per build)."""
    if target == "native":
        return
    missing = sorted(_isa_macros(target) - _isa_macros("native"))
    if missing:
        raise ValueError(f"RNNKIT_MARCH={target!r} uses instructions this CPU lacks ({', '.join(missing)}); "
                         f"the library would die of an illegal instruction. Pick a lower target or native")


def _flags() -> list[str]:
    flags = ["-O3", f"-march={march()}", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
    if _has_fortran_blas():
        flags.append("-DRNNKIT_FORTRAN_BLAS")
    return flags


def _cache_root() -> str:
    root = os.environ.get("RNNKIT_CACHE_DIR")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnnkit")
    return root


def _build_dir(tag: str) -> str:
    """The cache folder for this build, or a fresh temporary one when the cache is not writable."""
    path = os.path.join(_cache_root(), tag)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".write-probe-{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
        return path
    except OSError:
        return tempfile.mkdtemp(prefix=f"rnnkit-{tag}-")


def _import(name: str, path: str):
    """Import the built library as a Python module (which also registers its torch ops)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _library_name(flags: list[str]) -> str:
    """The build's name and cache folder: a hash of the sources, the flags (the -march target among them),
    torch and Python, and this CPU's model and flags. A library built for another target or on another CPU
    has another name, so it is never found, let alone loaded (tests/kernels_fast/test_compiled_kernels.py)."""
    src = []
    for path in _SOURCES + _HEADERS:
        with open(path, "rb") as f:
            src.append(f.read())
    key = hashlib.sha256(b"\0".join([*src, " ".join(flags).encode(), torch.__version__.encode(),
                                     sys.version.encode(), _cpu_signature().encode()])).hexdigest()[:16]
    return f"rnnkit_compiled_{key}"


def _load():
    flags = _flags()
    name = _library_name(flags)
    cached = os.path.join(_cache_root(), name, f"{name}.so")
    if os.path.exists(cached):
        try:
            return _import(name, cached)
        except ImportError:
            pass   # a broken cached file: rebuild below
    from torch.utils.cpp_extension import load as cpp_load

    _check_target_runs_here(march())
    build_dir = _build_dir(name)
    # One line, once per machine and version: the build takes ~20-30 s and would otherwise look like a hang.
    print(f"rnnkit: building the compiled RNN kernels for this CPU (once, ~30 s; cached in {build_dir})",
          file=sys.stderr, flush=True)
    with warnings.catch_warnings():   # the build's own warnings (compiler version, ...) are not ours to raise
        warnings.simplefilter("ignore")
        return cpp_load(name=name, sources=_SOURCES, extra_cflags=flags, extra_ldflags=["-fopenmp"],
                        build_directory=build_dir, is_python_module=True, verbose=False)


def load() -> bool:
    """Build or load the library once per process; True when the compiled kernels are usable."""
    if _state["loaded"] is not None:
        return _state["loaded"]
    with _lock:
        if _state["loaded"] is None:
            if os.environ.get("RNNKIT_DISABLE_COMPILED", "") not in ("", "0"):
                _state["error"] = "disabled by RNNKIT_DISABLE_COMPILED"
                _state["loaded"] = False
            else:
                try:
                    _state["module"] = _load()
                    torch.ops.rnnkit_compiled.lstm_forward   # noqa: B018 - registered?
                    _state["loaded"] = True
                except Exception as e:  # noqa: BLE001 - any build/load failure means: use the fallback
                    _state["error"] = f"{type(e).__name__}: {e}"
                    _state["loaded"] = False
                    _log.warning("rnnkit: compiled RNN kernels unavailable, using the PyTorch kernels (%s)",
                                 str(e).splitlines()[0][:300] if str(e) else type(e).__name__)
    return _state["loaded"]


def is_available() -> bool:
    return load()


def build_error() -> str | None:
    """Why the compiled kernels are unavailable (None when they loaded)."""
    load()
    return _state["error"]


def ops():
    """The sequence kernels, registered as torch ops."""
    return torch.ops.rnnkit_compiled


def module():
    """The library as a Python module: the streaming ``step`` (a plain pybind11 function, see
    ``stream_kernels.cpp``). Call ``load()`` first."""
    return _state.get("module")
