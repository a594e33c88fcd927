"""Render bench results (as written to results/latest.json) into the markdown report.

    python bench/report.py bench/results/latest.json   # re-render latest.md from the JSON
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workloads import IMPL_BY_KEY, Workload  # noqa: E402

OURS = ["rnnkit", "rnnkit_compiled", "rnnkit_python"]


def _cell(res: dict | None, field: str, fmt: str) -> str:
    if res is None:
        return "—"
    if res.get("status") == "n/a":
        return "n/a"
    if res.get("status") != "ok":
        return "err"
    return format(res[field], fmt) + ("\\*" if res.get("noisy") else "")


def main_threads(meta: dict) -> int:
    """The thread count of the main tables: 2 when it was run (the bench's default), else the first one."""
    counts = meta.get("threads") or [2]
    return 2 if 2 in counts else counts[0]


def render(meta: dict, workloads: list, impls: list[str], results: list[dict]) -> str:
    workloads = [w if isinstance(w, Workload) else Workload(**w) for w in workloads]
    main = main_threads(meta)
    by = {(r["workload"], r["impl"]): r for r in results
          if r.get("threads", 2) == main and not r.get("busy_cores")}
    train = [w for w in workloads if w.mode == "train"]
    stream = [w for w in workloads if w.mode == "stream"]
    peak = meta["gemm_peak"].get("gflops")
    out = [f"# rnnkit benchmark — {meta['started_utc']}", ""]
    m = meta["machine"]
    out += [f"Command: `{meta['command']}`  ",
            f"Machine: {m.get('cpu', '?')}, {m.get('cpus')} CPUs, torch {m.get('torch')}, Python {m.get('python')}; "
            f"float32, 2 threads; median of {meta['repeats']} repeats (>= {meta['min_repeat_s']} s each) after "
            f"warm-up; every case in its own process.  ",
            f"Measured float32 GEMM peak (torch.mm, 2 threads): **{peak:.1f} GFLOP/s** "
            f"(n={meta['gemm_peak'].get('n')})." if peak else "GEMM peak: not measured.", ""]
    absent = [k for k, v in meta["peers"].items() if not v]
    present = [f"{k} {v}" for k, v in meta["peers"].items() if v]
    out += [f"Optional peers present: {', '.join(present) or 'none'}; absent: {', '.join(absent) or 'none'}"
            f" (run with `{meta['peer_python']}`).", ""]
    out += ["`\\*` = noisy: other processes used more than "
            f"{meta['noise_threshold_cores']} cores (or the hypervisor stole >0.1) during the case, even "
            "after re-running it; treat with care. `n/a` = the implementation has no such module/option.", ""]

    cols = [k for k in impls if k != "native_cell"]
    if train:
        out += ["## Training throughput (sequences/s, higher is better)", "",
                "| workload | " + " | ".join(IMPL_BY_KEY[k].label for k in cols) + " |",
                "|---|" + "---:|" * len(cols)]
        for w in train:
            out.append(f"| {w.name} | " + " | ".join(_cell(by.get((w.name, k)), "seq_per_s", ".0f") for k in cols) + " |")
        out.append("")

        peers = [k for k in cols if k not in OURS]
        for ours in ("rnnkit_compiled", "rnnkit"):
            if ours not in impls:
                continue
            out += [f"### Ratio: {IMPL_BY_KEY[ours].label} ÷ peer (> 1 means rnnkit is faster)", "",
                    "| workload | " + " | ".join(IMPL_BY_KEY[k].label for k in peers) + " | best peer |",
                    "|---|" + "---:|" * (len(peers) + 1)]
            for w in train:
                mine = by.get((w.name, ours))
                row, best = [], None
                for k in peers:
                    p = by.get((w.name, k))
                    if mine and p and mine.get("status") == "ok" and p.get("status") == "ok":
                        row.append(f"{mine['seq_per_s'] / p['seq_per_s']:.2f}")
                    else:
                        row.append("—")
                    if p and p.get("status") == "ok" and (best is None or p["seq_per_s"] > best["seq_per_s"]):
                        best = p
                if best and mine and mine.get("status") == "ok":
                    row.append(f"{mine['seq_per_s'] / best['seq_per_s']:.2f} ({best['impl']})")
                else:
                    row.append("—")
                out.append(f"| {w.name} | " + " | ".join(row) + " |")
            out.append("")

    if stream:
        scols = [k for k in impls if k not in ("native_tuned", "native_nodnn_tuned")]
        out += ["## Streaming inference, B=1, one step per call (µs/step, lower is better)", "",
                "| workload | " + " | ".join(IMPL_BY_KEY[k].label for k in scols) + " |",
                "|---|" + "---:|" * len(scols)]
        for w in stream:
            out.append(f"| {w.name} | " + " | ".join(_cell(by.get((w.name, k)), "us_per_step", ".1f") for k in scols) + " |")
        out.append("")

    out += contention_section(meta, workloads, results)

    out += ["## Every case", "",
            "GFLOP/s counts GEMM flops only (forward 2·T·B·G·(I+H), training 3× that). Peak RSS is the case "
            "process's ru_maxrss; ΔRSS is peak minus RSS after imports and model construction. First call = "
            "the very first step (includes JIT builds/compiles/cache loads). Faults = minor page faults per "
            "step. Others = CPU cores used by other processes during the timed repeats (median). Best repeat = "
            "the fastest repeat (what the code does when the machine leaves it alone; the tables above use the "
            "median).", "",
            "| workload | implementation | seq/s or µs/step | best repeat | ms/call | spread | GFLOP/s | % peak | "
            "peak RSS MB | ΔRSS MB | first call s | faults/step | others (cores) | steal | tries | note |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        label = IMPL_BY_KEY[r["impl"]].label if r["impl"] in IMPL_BY_KEY else r["impl"]
        if r.get("threads", 2) != main or r.get("busy_cores"):
            label += f", {r.get('threads', 2)} thread{'s' if r.get('threads', 2) > 1 else ''}"
            label += ", 1 core busy" if r.get("busy_cores") else ""
        if r.get("status") != "ok":
            if r.get("status") == "n/a" and r["impl"] not in OURS:
                continue   # peers' static n/a rows only add noise; ours stay visible
            out.append(f"| {r['workload']} | {label} | {r.get('status')} |  |  |  |  |  |  |  |  |  |  |  |  | "
                       f"{r.get('reason', '')[:120].replace('|', '/')} |")
            continue
        val = f"{r['us_per_step']:.1f} µs" if "us_per_step" in r else f"{r['seq_per_s']:.0f}"
        fastest = min(r["times_s"])
        best = f"{fastest * 1e6:.1f} µs" if "us_per_step" in r else f"{r['seq_per_s'] * r['median_s'] / fastest:.0f}"
        out.append(
            f"| {r['workload']} | {label} | {val} | {best} | {r['ms_per_call']:.3f} | {r['spread']:.0%} | {r['gflops']:.1f} | "
            f"{r.get('pct_gemm_peak', float('nan')):.0f} | {r['peak_rss_mb']:.0f} | {r['delta_rss_mb']:.0f} | "
            f"{r['first_call_s']:.3f} | {r['minor_faults_per_call']:.0f} | {r['others_cores']:.2f} | "
            f"{r['steal_cores']:.2f} | {r.get('tries', 1)} | {'noisy' if r.get('noisy') else ''} |")
    out.append("")
    return "\n".join(out)


def contention_section(meta: dict, workloads: list, results: list[dict]) -> list[str]:
    """Throughput per thread count, quiet and with one core busy (runs with --threads/--contended)."""
    counts = meta.get("threads") or [2]
    if len(counts) < 2 and not meta.get("contended"):
        return []
    conds = [(t, busy) for busy in ([0.0, 1.0] if meta.get("contended") else [0.0]) for t in counts]
    by = {(r["workload"], r["impl"], r.get("threads", 2), r.get("busy_cores", 0.0)): r for r in results}
    head = [f"{t} thread{'s' if t > 1 else ''}{', 1 core busy' if busy else ''}" for t, busy in conds]
    ratios = [(t, busy) for t, busy in conds if t != counts[0]]
    head += [f"{t} ÷ {counts[0]} thread{'s' if counts[0] > 1 else ''}{', busy' if busy else ''}" for t, busy in ratios]
    out = ["## Threads and contention (training, sequences/s)", "",
           "One core busy: a busy loop pinned to the last CPU runs beside the case, as another user's process "
           "would. Ratios > 1: more threads are faster in that condition.", "",
           "| workload | implementation | " + " | ".join(head) + " |", "|---|---|" + "---:|" * len(head)]
    impls = list(dict.fromkeys(r["impl"] for r in results))
    for w in workloads:
        if w.mode != "train":
            continue
        for impl in impls:
            cells = [by.get((w.name, impl, t, busy)) for t, busy in conds]
            if not any(c and c.get("status") == "ok" for c in cells):
                continue
            row = [_cell(c, "seq_per_s", ".0f") for c in cells]
            for t, busy in ratios:
                a, b = by.get((w.name, impl, t, busy)), by.get((w.name, impl, counts[0], busy))
                ok = a and b and a.get("status") == "ok" and b.get("status") == "ok"
                row.append(f"{a['seq_per_s'] / b['seq_per_s']:.2f}" if ok else "—")
            label = IMPL_BY_KEY[impl].label if impl in IMPL_BY_KEY else impl
            out.append(f"| {w.name} | {label} | " + " | ".join(row) + " |")
    out.append("")
    return out


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "latest.json")
    with open(path) as f:
        data = json.load(f)
    impls = list(dict.fromkeys(r["impl"] for r in data["results"]))
    with open(path[:-5] + ".md", "w") as f:
        f.write(render(data["meta"], data["workloads"], impls, data["results"]))
