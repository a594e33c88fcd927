"""Run every workload for rnnkit and its peers in one go; write bench/results/latest.{md,json}.

    python bench/run.py            # full run (~15-25 min on the 2-core box)
    python bench/run.py --quick    # smoke run: W1, W3, W4, fewer peers and repeats (~2 min)
    python bench/run.py --workloads "W1 LSTM" --impls rnnkit,native --threads 1,2 --contended
                                   # each case with 1 and 2 threads, on a quiet machine and with one core busy

Each case runs in its own subprocess (fresh allocator state, its own peak RSS), float32, 2 threads (--threads).
See bench/README.md for what the columns mean.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from workloads import (  # noqa: E402
    IMPL_BY_KEY, IMPLS, QUICK_IMPLS, QUICK_WORKLOADS, TUNED_MALLOC, WORKLOADS, Impl, Workload,
    static_not_applicable,
)

PEER_VENV_PYTHON = os.path.join(HERE, ".venv-peers", "bin", "python")


def peer_python() -> str:
    return PEER_VENV_PYTHON if os.path.exists(PEER_VENV_PYTHON) else sys.executable


def probe_peers() -> dict[str, str | None]:
    """Which optional peers import under the peer interpreter: {key: version or None}."""
    found = {}
    for key, code in (("keras", "import keras, tensorflow as tf; print(keras.__version__, 'tf', tf.__version__)"),
                      ("jax", "import jax; print(jax.__version__)")):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", JAX_PLATFORMS="cpu")
        r = subprocess.run([peer_python(), "-c", code], capture_output=True, text=True, env=env, timeout=300)
        found[key] = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else None
    return found


def child_env(impl: Impl | None, threads: int = 2) -> dict:
    env = dict(os.environ)
    for k in TUNED_MALLOC:
        env.pop(k, None)
    n = str(threads)
    env.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n,
               TF_NUM_INTRAOP_THREADS=n, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow",
               JAX_PLATFORMS="cpu", PYTHONPATH=REPO + os.pathsep + env.get("PYTHONPATH", ""))
    if impl is not None and impl.tuned_malloc:
        env.update(TUNED_MALLOC)
    # Every implementation waits passively, as rnnkit sets for itself when imported before torch (rnnkit/_threads.py):
    # the same OpenMP policy for all columns keeps the ratios fair (bench/threads_contention.py compares policies).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


@contextlib.contextmanager
def one_core_busy(enabled: bool):
    """Another process's work beside the case: a busy loop pinned to the last CPU, for the duration."""
    if not enabled:
        yield
        return
    cpu = max(os.sched_getaffinity(0))
    loop = subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    try:
        time.sleep(0.3)   # spinning before the case starts
        yield
    finally:
        loop.kill()
        loop.wait()


def run_case(impl_key: str, w: Workload | None, repeats: int, min_repeat_s: float, timeout: float,
             threads: int = 2, busy: bool = False) -> dict:
    """One case in its own process, with `threads` intra-op threads; busy=True: one core kept busy beside it."""
    impl = IMPL_BY_KEY.get(impl_key)
    python = peer_python() if impl is not None and impl.interp == "peers" else sys.executable
    spec = {"impl": impl_key, "workload": None if w is None else w.as_dict(), "repeats": repeats,
            "min_repeat_s": min_repeat_s, "onednn": True if impl is None else impl.onednn, "threads": threads}
    head = {"impl": impl_key, "workload": w and w.name, "threads": threads, "busy_cores": 1.0 if busy else 0.0}
    t0 = time.perf_counter()
    try:
        with one_core_busy(busy):
            r = subprocess.run([python, os.path.join(HERE, "_child.py"), json.dumps(spec)], capture_output=True,
                               text=True, env=child_env(impl, threads), timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {**head, "status": "error", "reason": f"timeout {timeout}s"}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("@@RESULT ")]
    if not lines:
        return {**head, "status": "error", "reason": f"child exited {r.returncode}: {r.stderr[-1500:]}"}
    res = json.loads(lines[-1][len("@@RESULT "):])
    res.update(head)
    res["wall_s"] = time.perf_counter() - t0
    return res


def others_busy(sample_s: float = 0.5) -> float:
    """CPU cores other processes keep busy right now (a short /proc/stat sample; this process is idle)."""
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")
    b0 = busy()
    time.sleep(sample_s)
    return (busy() - b0) / sample_s


def wait_for_quiet(threshold: float, max_wait_s: float) -> float:
    """Before a case, wait (up to max_wait_s) for other processes to leave the CPUs; returns the last load."""
    t0 = time.perf_counter()
    load = others_busy()
    while load > threshold and time.perf_counter() - t0 < max_wait_s:
        time.sleep(1.0)
        load = others_busy()
    return load


def is_noisy(res: dict, threshold: float) -> bool:
    """Other processes (besides the busy loop a contended case runs on purpose) used more than threshold cores."""
    others = res.get("others_cores", 0.0) - res.get("busy_cores", 0.0)
    return res.get("status") == "ok" and (others > threshold or res["steal_cores"] > 0.1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="W1, W3, W4 only, fewer peers and repeats (~2 min)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per case (default 7; quick 3)")
    ap.add_argument("--min-repeat-s", type=float, default=None, help="seconds per repeat (default 0.3)")
    ap.add_argument("--workloads", default=None, help="comma-separated workload names, e.g. 'W1 LSTM,W3 GRU'")
    ap.add_argument("--impls", default=None, help="comma-separated implementation keys")
    ap.add_argument("--noise-threshold", type=float, default=0.25,
                    help="other processes' CPU (cores) above which a case is repeated and flagged")
    ap.add_argument("--retries", type=int, default=None,
                    help="re-runs of a noisy case, the quietest run kept (default 2; quick 0)")
    ap.add_argument("--max-wait", type=float, default=None,
                    help="seconds to wait for other processes to go quiet before each case (default 20; quick 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest"), help="output path without suffix")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    ap.add_argument("--threads", default="2",
                    help="comma-separated intra-op thread counts; each case runs with each (default 2)")
    ap.add_argument("--contended", action="store_true",
                    help="run each case also with one core busy (a busy loop pinned to the last CPU beside it)")
    args = ap.parse_args(argv)
    thread_counts = [int(n) for n in args.threads.split(",")]
    conditions = [(t, busy) for busy in ([False, True] if args.contended else [False]) for t in thread_counts]

    repeats = args.repeats or (3 if args.quick else 7)
    if args.retries is None:
        args.retries = 0 if args.quick else 2
    if args.max_wait is None:
        args.max_wait = 2.0 if args.quick else 20.0
    min_repeat_s = args.min_repeat_s or (0.15 if args.quick else 0.3)
    workloads = WORKLOADS
    if args.workloads:
        names = [n.strip() for n in args.workloads.split(",")]
        workloads = [w for w in WORKLOADS if w.name in names]
    elif args.quick:
        workloads = [w for w in WORKLOADS if w.name in QUICK_WORKLOADS]
    impls = [i.key for i in IMPLS]
    if args.impls:
        impls = [k.strip() for k in args.impls.split(",")]
    elif args.quick:
        impls = QUICK_IMPLS + ["native_cell"]

    started = dt.datetime.now(dt.timezone.utc)
    peers = probe_peers() if any(IMPL_BY_KEY[k].interp == "peers" for k in impls) else {}
    print(f"peers: {peers}  (interpreter {peer_python()})", flush=True)
    peak = run_case("gemm_peak", None, repeats, 0.3, args.timeout)
    print(f"GEMM peak: {peak.get('gflops', float('nan')):.1f} GFLOP/s (n={peak.get('n')})", flush=True)

    results = []
    for w in workloads:
        for key in impls:
            impl = IMPL_BY_KEY[key]
            reason = static_not_applicable(impl, w)
            if reason is None and impl.interp == "peers" and not peers.get(key):
                reason = f"{key} not installed (pip install '.[bench]' or bench/.venv-peers)"
            if reason is not None:
                results.append({"impl": key, "workload": w.name, "status": "n/a", "reason": reason,
                                "threads": thread_counts[0], "busy_cores": 0.0})
                continue
            for threads, busy in conditions:
                res = run_quietest(key, w, repeats, min_repeat_s, args, threads, busy)
                if res.get("status") == "ok":
                    res.update(derived(res, w, peak))
                results.append(res)
                print(summary_line(res), flush=True)
                os.makedirs(os.path.dirname(args.out), exist_ok=True)
                with open(args.out + ".partial.json", "w") as f:   # an interrupted run still leaves its numbers
                    json.dump({"results": results}, f)

    meta = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(),
        "repeats": repeats, "min_repeat_s": min_repeat_s, "noise_threshold_cores": args.noise_threshold,
        "gemm_peak": peak, "peers": peers, "peer_python": peer_python(),
        "threads": thread_counts, "contended": args.contended,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "workloads": [w.as_dict() for w in workloads], "results": results}, f, indent=1)
    import report

    with open(args.out + ".md", "w") as f:
        f.write(report.render(meta, workloads, impls, results))
    if os.path.exists(args.out + ".partial.json"):
        os.remove(args.out + ".partial.json")
    print(f"wrote {args.out}.md and {args.out}.json", flush=True)


def run_quietest(key: str, w: Workload, repeats: int, min_repeat_s: float, args, threads: int, busy: bool) -> dict:
    """Wait for the machine to go quiet, run the case; re-run a noisy one (the quietest run kept)."""
    wait_for_quiet(args.noise_threshold, args.max_wait)
    res = run_case(key, w, repeats, min_repeat_s, args.timeout, threads, busy)
    tries = 1
    while is_noisy(res, args.noise_threshold) and tries <= args.retries:
        wait_for_quiet(args.noise_threshold, args.max_wait)
        again = run_case(key, w, repeats, min_repeat_s, args.timeout, threads, busy)
        tries += 1
        if again.get("status") == "ok" and again["others_cores"] < res["others_cores"]:
            res = again
    res["tries"] = tries
    res["noisy"] = is_noisy(res, args.noise_threshold)
    return res


def derived(res: dict, w: Workload, peak: dict) -> dict:
    s = res["median_s"]
    d = {"ms_per_call": s * 1e3, "gflops": w.train_flops() / s / 1e9}
    if w.mode == "stream":
        d["us_per_step"] = s * 1e6
    else:
        d["seq_per_s"] = w.B / s
    if peak.get("gflops"):
        d["pct_gemm_peak"] = 100.0 * d["gflops"] / peak["gflops"]
    d["delta_rss_mb"] = res["peak_rss_mb"] - res["base_rss_mb"]
    return d


def summary_line(res: dict) -> str:
    cond = f"{res.get('threads', 2)}t{' busy' if res.get('busy_cores') else ''}"
    head = f"{res['workload']:<18} {res['impl']:<20} {cond:<8}"
    if res.get("status") != "ok":
        return f"{head} {res.get('status')}: {res.get('reason', '')[:150]}"
    val = f"{res['us_per_step']:8.1f} us/step" if "us_per_step" in res else f"{res['seq_per_s']:8.1f} seq/s"
    return (f"{head} {val}  spread {res['spread']:.0%}  others {res['others_cores']:.2f} cores"
            f"{'  NOISY' if res['noisy'] else ''}  peak {res['peak_rss_mb']:.0f} MB  first {res['first_call_s']:.2f} s")


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    r = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    info["torch"] = r.stdout.strip()
    return info


if __name__ == "__main__":
    main()
