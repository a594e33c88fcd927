"""Data-parallel training on this machine: 2 processes x 1 thread vs 1 process x 2 threads vs 1 x 1.

    python bench/ddp.py                 # W1 (B64 T100 I32 H128) and small (B32 T50 I8 H32), 3 repeats
    python bench/ddp.py --repeats 5 --out bench/results/ddp.json

Each case is `model.fit` of a Sequential LSTM(H) + Dense(1) on synthetic data, the same global batch in every
setting (DDP splits it over the processes); throughput = samples / median epoch time, the first epoch left
out (warm-up: kernel loads, allocator). The cases of a repeat run one after the other, so the ratios compare
settings under the same machine load; the report gives the ratio of each setting to the best single process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_ddp_child.py"
WORKLOADS = {"W1": dict(B=64, T=100, I=32, H=128, steps=8), "small": dict(B=32, T=50, I=8, H=32, steps=40)}
SETTINGS = [("1 proc x 1 thread", 1, 1), ("1 proc x 2 threads", 1, 2), ("2 procs x 1 thread", 2, 1)]


def run_case(workload: dict, nproc: int, threads: int, epochs: int) -> float:
    args = [f"--{k}={v}" for k, v in workload.items()] + [f"--epochs={epochs}", f"--threads={threads}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(HERE.parent)}
    command = [sys.executable, str(CHILD), *args]
    if nproc > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                   str(CHILD), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=900)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    result = json.loads(line)
    return result["samples"] / statistics.median(result["epoch_seconds"][1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=str(HERE / "results" / "ddp.json"))
    args = parser.parse_args()
    results: dict = {name: {label: [] for label, _, _ in SETTINGS} for name in WORKLOADS}
    for repeat in range(args.repeats):
        for name, workload in WORKLOADS.items():
            for label, nproc, threads in SETTINGS:
                rate = run_case(workload, nproc, threads, args.epochs)
                results[name][label].append(rate)
                print(f"repeat {repeat + 1}: {name:<6} {label:<20} {rate:9.1f} samples/s", flush=True)
    print("\n| workload | setting | samples/s (median) | vs best single process |\n|---|---|---:|---:|")
    summary = {}
    for name in WORKLOADS:
        medians = {label: statistics.median(rates) for label, rates in results[name].items()}
        best_single = max(medians["1 proc x 1 thread"], medians["1 proc x 2 threads"])
        for label, rate in medians.items():
            print(f"| {name} | {label} | {rate:.1f} | {rate / best_single:.2f}x |")
        summary[name] = {"median_samples_per_s": medians, "ddp_vs_best_single": medians["2 procs x 1 thread"] / best_single}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"repeats": results, "summary": summary}, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
