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


def render(meta: dict, workloads: list, impls: list[str], results: list[dict]) -> str:
    workloads = [w if isinstance(w, Workload) else Workload(**w) for w in workloads]
    by = {(r["workload"], r["impl"]): r for r in results}
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


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "latest.json")
    with open(path) as f:
        data = json.load(f)
    impls = list(dict.fromkeys(r["impl"] for r in data["results"]))
    with open(path[:-5] + ".md", "w") as f:
        f.write(render(data["meta"], data["workloads"], impls, data["results"]))
