"""Forward + backward time of rnnkit.nn.ConvLSTM2D (hand-derived BPTT) against the per-step autograd reference
and against ConvLSTMs as users write them in plain PyTorch.

    python bench/conv_lstm.py                      # both cases, both allocators -> bench/results/conv_lstm.json
    python bench/conv_lstm.py --repeats 3 --cases small --allocators tuned

One training call = forward over the clip (B, T, C, Y, X), loss mean(y²) + mean(h_n²), backward to x and every
weight; float32, ``torch.set_num_threads(1)``; the median of ``--repeats`` timed calls after one warm-up round,
the implementations interleaved (each round runs each once, the order rotated) so load from other processes
on the shared box falls on all of them alike.
Implementations, all on the same weights (their outputs are checked equal before timing):

- ``rnnkit``: ``rnnkit.nn.ConvLSTM2D`` (one batched input convolution over all T·B frames, the recurrent
  convolution per step, weight gradients as batched convolutions after the loop).
- ``reference``: ``cells.loop.run_steps`` over ``cells.conv_steps.conv_lstm_step``: two convolutions per step, autograd.
- ``plain_cat``: the ConvLSTM users copy (ndrplz/ConvLSTM_pytorch style): per step one ``nn.Conv2d`` over
  ``cat([x_t, h])`` with 4H output channels, split into the gates, autograd BPTT.
- ``plain_hoisted``: the best plain-PyTorch version we could write: the input convolution of all frames hoisted
  out of the loop as one conv2d, the recurrent conv per step, autograd BPTT (i.e. our forward, autograd's backward).

Each (case, allocator) runs in its own process: "default" glibc malloc, and "tuned"
(``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` = 4 GiB, as ``bench/run.py``'s ``native_tuned``), which keeps
freed large blocks instead of returning them to the OS, so the big per-call buffers do not page-fault anew each call.
The 1-minute load average before and after each case and the process's minor page faults are printed / saved
(the box is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.cells.conv_steps import conv_lstm_step
from rnnkit.cells.loop import run_steps
from rnnkit.nn import ConvLSTM2D

# glibc returns every large block to the OS at free() by default, so each call's big (T, B, 4H, Y, X) buffers
# are fresh pages again (minor page faults, slow in this VM); "tuned" keeps them, as bench/run.py's native_tuned
ALLOCATORS = {"default": {}, "tuned": {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}}

CASES = {  # name: (B, T, C, H, Y, X, k)
    "small": (8, 20, 1, 32, 32, 32, 3),
    "big": (8, 20, 16, 64, 32, 32, 3),
}


class PlainConvLSTMCell(nn.Module):
    """The cell as ndrplz/ConvLSTM_pytorch writes it: one Conv2d over [x_t, h_{t-1}] → 4H channels."""

    def __init__(self, C: int, H: int, k: int) -> None:
        super().__init__()
        self.H = H
        self.conv = nn.Conv2d(C + H, 4 * H, k, padding=k // 2, bias=True)

    def forward(self, x_t, state):
        h, c = state
        i, f, g, o = torch.split(self.conv(torch.cat([x_t, h], dim=1)), self.H, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


def plain_cat(cell: PlainConvLSTMCell, x: torch.Tensor):
    """x (B, T, C, Y, X) → (y (B, T, H, Y, X), h_n)."""
    B, T, _, Y, X = x.shape
    h = c = x.new_zeros(B, cell.H, Y, X)
    ys = []
    for t in range(T):
        h, c = cell(x[:, t], (h, c))
        ys.append(h)
    return torch.stack(ys, dim=1), h


def plain_hoisted(W_ih, W_hh, b, x):
    """The input convolution of every frame at once, then the recurrent one per step; autograd BPTT."""
    B, T, C, Y, X = x.shape
    H = W_hh.shape[1]
    pad = W_ih.shape[-1] // 2
    Gx = F.conv2d(x.reshape(B * T, C, Y, X), W_ih, b, padding=pad).view(B, T, 4 * H, Y, X)
    h = c = x.new_zeros(B, H, Y, X)
    ys = []
    for t in range(T):
        i, f, g, o = (Gx[:, t] + F.conv2d(h, W_hh, padding=pad)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, dim=1), h


def implementations(B, T, C, H, Y, X, k):
    torch.manual_seed(0)
    model = ConvLSTM2D(C, H, k)
    W_ih, W_hh, b_ih, b_hh, _ = model.layer_weights(0)
    cell = PlainConvLSTMCell(C, H, k)
    with torch.no_grad():                                                 # the same weights everywhere
        cell.conv.weight.copy_(torch.cat([W_ih, W_hh], dim=1))
        cell.conv.bias.copy_(b_ih + b_hh)
    b_sum = (b_ih + b_hh).detach().requires_grad_()

    def rnnkit_call(x):
        y, (h, _) = model(x)
        return y, h[0]

    def reference_call(x):
        weights = model.layer_weights(0)
        zeros = x.new_zeros(B, H, Y, X)
        y, (h, _) = run_steps(conv_lstm_step, x.transpose(0, 1), (zeros, zeros), weights)
        return y.transpose(0, 1), h

    return {
        "rnnkit": rnnkit_call,
        "reference": reference_call,
        "plain_cat": lambda x: plain_cat(cell, x),
        "plain_hoisted": lambda x: plain_hoisted(W_ih, W_hh, b_sum, x),
    }


def time_case(name: str, repeats: int) -> dict:
    B, T, C, H, Y, X, k = CASES[name]
    impls = implementations(B, T, C, H, Y, X, k)
    x = torch.randn(B, T, C, Y, X, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():                                                 # same math, checked before timing
        y0, h0 = impls["rnnkit"](x)
        for key, fn in impls.items():
            y, h = fn(x)
            torch.testing.assert_close(y, y0, rtol=1e-4, atol=1e-5, msg=key)
            torch.testing.assert_close(h, h0, rtol=1e-4, atol=1e-5, msg=key)
    result = {"case": name, "B": B, "T": T, "C": C, "H": H, "Y": Y, "X": X, "k": k, "median_s": {}, "repeats_s": {}}
    keys = list(impls)
    times: dict[str, list[float]] = {key: [] for key in keys}
    load_before = os.getloadavg()[0]
    for r in range(repeats + 1):                                          # round 0 is a warm-up
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:           # interleaved, the order rotated:
            xr = x.clone().requires_grad_()                               # load on the shared box hits all alike
            start = time.perf_counter()
            y, h = impls[key](xr)
            ((y * y).mean() + (h * h).mean()).backward()
            if r:
                times[key].append(time.perf_counter() - start)
    result["load_1min"] = (load_before, os.getloadavg()[0])
    for key in keys:
        result["repeats_s"][key] = times[key]
        result["median_s"][key] = statistics.median(times[key])
        print(f"  {name:5s} {key:13s} {1e3 * result['median_s'][key]:9.1f} ms  (best {1e3 * min(times[key]):.1f})",
              flush=True)
    print(f"  1-minute load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
    return result


def child(case: str, repeats: int) -> None:
    """One case in this process (its allocator set by the parent's environment); prints one JSON line."""
    torch.set_num_threads(1)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    result = time_case(case, repeats)
    result["minor_faults"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print("@@RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cases", default="small,big", help=f"comma-separated, of {sorted(CASES)}")
    parser.add_argument("--allocators", default="default,tuned", help=f"comma-separated, of {sorted(ALLOCATORS)}")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "conv_lstm.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.repeats)
    results = []
    for name in args.cases.split(","):
        for allocator in args.allocators.split(","):
            B, T, C, H, Y, X, k = CASES[name]
            print(f"{name}: B{B} T{T} C{C} H{H} {Y}x{X} kernel {k}, forward + backward, 1 thread, median of "
                  f"{args.repeats}, {allocator} allocator", flush=True)
            env = {**os.environ, "OMP_NUM_THREADS": "1", **ALLOCATORS[allocator]}
            out = subprocess.run([sys.executable, __file__, "--child", name, "--repeats", str(args.repeats)], env=env,
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            for line in out.splitlines():
                if line.startswith("@@RESULT "):
                    results.append({**json.loads(line[len("@@RESULT "):]), "allocator": allocator})
                else:
                    print(line, flush=True)
    print("\ncase   allocator impl           median ms   / rnnkit")
    for res in results:
        base = res["median_s"]["rnnkit"]
        for key, t in res["median_s"].items():
            print(f"{res['case']:6s} {res['allocator']:9s} {key:13s} {1e3 * t:10.1f}   {t / base:6.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"threads": 1, "torch": torch.__version__, "results": results}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
