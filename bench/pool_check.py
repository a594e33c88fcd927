"""The buffer pool's effect at W2 (LSTM B 64, T 100, I 32, H 512), one configuration per process.

    python bench/pool_check.py                       # with the pool (default)
    RNNKIT_POOL_MB=0 python bench/pool_check.py      # without it
    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 python bench/pool_check.py   # tuned glibc

Prints the compiled kernel's inference forward and training step (forward + mean(y²) + backward + SGD), best
and median of 8 calls in ms, minor page faults per training step, and the pool's counters.
"""

from __future__ import annotations

import os
import resource
import time

import torch

from rnnkit.kernels.compiled import lstm_sequence, pool_stats


def timed(fn, n=8):
    for _ in range(2):
        fn()
    times, faults = [], []
    for _ in range(n):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    times.sort()
    return times[0], times[n // 2], sorted(faults)[n // 2]


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    T, B, I, H = 100, 64, 32, 512
    ref = torch.nn.LSTM(I, H)
    params = [ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0]
    x, h0 = torch.randn(T, B, I), torch.zeros(B, H)
    opt = torch.optim.SGD(params, lr=0.01)

    def forward():
        with torch.no_grad():
            lstm_sequence(x, h0, h0, *params)

    def train():
        y, _, _ = lstm_sequence(x, h0, h0, *params)
        opt.zero_grad(set_to_none=False)
        (y * y).mean().backward()
        opt.step()

    pool = os.environ.get("RNNKIT_POOL_MB", "default")
    tuned = "MALLOC_MMAP_THRESHOLD_" in os.environ
    f_best, f_med, _ = timed(forward)
    t_best, t_med, faults = timed(train)
    print(f"pool={pool} tuned_malloc={tuned}: forward {f_best:.0f} / {f_med:.0f} ms, "
          f"training step {t_best:.0f} / {t_med:.0f} ms, faults/step {faults}, {pool_stats()}")


if __name__ == "__main__":
    main()
