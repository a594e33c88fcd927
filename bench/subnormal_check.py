"""Subnormal floats at T = 1000: a training step (forward + backward) of each compiled kernel, on ordinary inputs
and on inputs that keep subnormals in every step, B 16, T 1000, I 32, H 128, float32.

    python bench/subnormal_check.py                    # this tree's kernels (subnormals flushed inside)
    python bench/subnormal_check.py --tree /tmp/before # another checkout's kernels, e.g. one from before the flush:
        git archive e08bf3a~1 | tar -x -C /tmp/before  # (the commit before the flush)
    python bench/subnormal_check.py --flush            # with torch.set_flush_denormal(True) around each step

Subnormal inputs, per kernel (as in tests/kernels_fast/test_denormals.py): LSTM / LayerNorm-LSTM: the o gate of
half the units saturated (bias -88: σ ≈ 6e-39, so h = o tanh(·) and the o gates' gradients are subnormal at every
step); GRU / LayerNorm-GRU: the z gate of half the units saturated the same way (z h_{t-1} and dz subnormal);
Elman: the input scaled by 1e-38 (the state lives at 1e-38 and below). Prints ms per step (median of the runs)
and the ratio subnormal ÷ ordinary: near 1 when subnormals cost nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = ["lstm", "gru", "elman", "layer_norm_lstm", "layer_norm_gru"]
B, T, I, H = 16, 1000, 32, 128

CHILD = r'''
import json, statistics, sys, time
import torch
import rnnkit.kernels.compiled as compiled
name, subnormal, flush, repeats = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1", int(sys.argv[4])
B, T, I, H = 16, 1000, 32, 128
torch.set_num_threads(2)
torch.manual_seed(0)
cell = name.replace("layer_norm_", "")
G = {"lstm": 4, "gru": 3, "elman": 1}[cell] * H
x = torch.randn(T, B, I)
b_ih = torch.zeros(G)
if subnormal:
    if cell == "elman":
        x = x * 1e-38
    else:
        gate = 3 if cell == "lstm" else 1                     # LSTM i, f, g, o; GRU r, z, n
        b_ih[gate * H:gate * H + H // 2] = -88.0
W_ih = torch.randn(G, I) / I ** 0.5
W_hh = torch.randn(G, H) * (0.9 / H ** 0.5)
state = [torch.zeros(B, H) for _ in range(2 if cell == "lstm" else 1)]
params = [W_ih, W_hh, b_ih, torch.zeros(G)]
if name.startswith("layer_norm"):
    params += [torch.ones(G), torch.zeros(G), torch.full((G,), 0.5), torch.zeros(G)]
    if cell == "lstm":
        params += [torch.ones(H), torch.zeros(H)]
params = [p.requires_grad_() for p in params]
fn = getattr(compiled, f"{name}_sequence")
extra = ["tanh"] if cell == "elman" else []
def step():
    out = fn(x, *state, *params, None, False, *extra)
    out[0].pow(2).mean().backward()
torch.set_flush_denormal(flush)
step()
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
with torch.no_grad():
    y = fn(x, *state, *params, None, False, *extra)[0]
tiny = int(((y != 0) & (y.abs() < 2.0 ** -126)).sum())
print(json.dumps({"ms": 1e3 * statistics.median(times), "subnormal_outputs": tiny, "compiled": compiled.is_available()}))
'''


def run(tree: str, name: str, subnormal: bool, flush: bool, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=tree + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(int(subnormal)), str(int(flush)), str(repeats)],
                         capture_output=True, text=True, env=env, cwd=tree, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{name}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default=os.path.dirname(HERE), help="checkout whose rnnkit to run (default: this one)")
    ap.add_argument("--flush", action="store_true", help="torch.set_flush_denormal(True) in the child")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kernels", default=",".join(KERNELS))
    args = ap.parse_args()
    print(f"tree {args.tree}, B {B} T {T} I {I} H {H}, 2 threads, flush_denormal={args.flush}")
    print(f"{'kernel':<17} {'ordinary ms':>12} {'subnormal ms':>13} {'ratio':>6}  subnormal outputs (ordinary, subnormal)")
    for name in args.kernels.split(","):
        t0 = time.perf_counter()
        a = run(args.tree, name, False, args.flush, args.repeats)
        b = run(args.tree, name, True, args.flush, args.repeats)
        if not (a["compiled"] and b["compiled"]):
            print(f"{name:<17} compiled kernels unavailable in {args.tree}")
            continue
        print(f"{name:<17} {a['ms']:12.1f} {b['ms']:13.1f} {b['ms'] / a['ms']:6.2f}  "
              f"({a['subnormal_outputs']}, {b['subnormal_outputs']})  [{time.perf_counter() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
