"""2 threads vs 1, on a quiet machine and with one core busy, for each OpenMP wait policy (issue 9, part 5).

    python bench/threads_contention.py                  # LSTM B64 T100 I32 H128, forward + backward
    python bench/threads_contention.py --repeats 8 --policies PASSIVE,ACTIVE,default
    python bench/threads_contention.py --policies spin:3000,spin:10000   # GOMP_SPINCOUNT=N: spin N times, then sleep

Each (policy, machine state) runs in a fresh process (libgomp reads OMP_WAIT_POLICY when torch loads it);
inside it, 1-second windows of 1 and 2 threads alternate, and the medians are compared, so both thread
counts see the same load. "busy" is a pure-Python loop pinned to the last CPU for the whole measurement.
Run it on an otherwise quiet machine: other processes make every row look contended.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, statistics, sys, time
import rnnkit, torch   # rnnkit first: it may choose the wait policy (rnnkit/_threads.py)
B, T, I, H, repeats = (int(v) for v in sys.argv[1:6])
torch.manual_seed(0)
layer = rnnkit.nn.LSTM(I, H, batch_first=True)
x = torch.randn(B, T, I)
def step():
    y, _ = layer(x)
    y.sum().backward()
for threads in (1, 2):
    torch.set_num_threads(threads); [step() for _ in range(3)]
rates = {1: [], 2: []}
for _ in range(repeats):
    for threads in (1, 2):
        torch.set_num_threads(threads)
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < 1.0:
            step(); n += 1
        rates[threads].append(n * B / (time.perf_counter() - start))
print(json.dumps({str(k): statistics.median(v) for k, v in rates.items()}))
"""


def measure(policy: str, busy: bool, shape: list[int], repeats: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    if policy == "default":
        env["GOMP_SPINCOUNT"] = "300000"  # libgomp's own default, set so that rnnkit leaves the policy alone
    elif policy.startswith("spin:"):
        env["GOMP_SPINCOUNT"] = policy[len("spin:"):]  # spin this many times, then sleep
    else:
        env["OMP_WAIT_POLICY"] = policy
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    hog = None
    if busy:
        last = max(os.sched_getaffinity(0))
        hog = subprocess.Popen(["taskset", "-c", str(last), sys.executable, "-c", "while True: pass"])
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, *map(str, shape), str(repeats)], env=env,
                             capture_output=True, text=True, check=True, timeout=600).stdout
    finally:
        if hog is not None:
            hog.kill()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", default="PASSIVE,default",
                        help="comma-separated: an OMP_WAIT_POLICY value, 'default' (libgomp's) or spin:N (GOMP_SPINCOUNT)")
    parser.add_argument("--shape", default="64,100,32,128", help="B,T,I,H")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = parser.parse_args()
    shape = [int(v) for v in args.shape.split(",")]
    rows = []
    print("| OMP_WAIT_POLICY | machine | 1 thread (seq/s) | 2 threads (seq/s) | 2 / 1 |")
    print("|---|---|---:|---:|---:|")
    for policy in args.policies.split(","):
        for busy in (False, True):
            r = measure(policy, busy, shape, args.repeats)
            row = {"policy": policy, "busy": busy, "one": r["1"], "two": r["2"], "ratio": r["2"] / r["1"]}
            rows.append(row)
            print(f"| {policy} | {'one core busy' if busy else 'quiet'} | {row['one']:.0f} | {row['two']:.0f} | "
                  f"{row['ratio']:.2f}x |", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"shape": shape, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
