"""Per-batch overhead of ``Model.fit`` against a hand-written PyTorch loop over the same model (issue 17).

    python bench/fit_overhead.py                    # B = 1, 4, 8, 16, 32 and the seed's program, 15 repeats
    python bench/fit_overhead.py --repeats 25 --out bench/results/fit_overhead.json

Both sides train the *same* rnnkit model (so the kernels are identical and only the loop around them
differs) with the same optimizer (``torch.optim.Adam(fused=True)``, what ``optimizer="adam"`` builds), one
thread, shuffled batches. The hand loop is the loop a PyTorch user writes for it:

    for idx in randperm(N).split(B):
        opt.zero_grad(); loss = mse(model(x[idx]), y[idx]); loss.backward(); opt.step(); total += loss.item()

``fit`` does more per step on purpose — it refuses a non-finite loss or gradient norm before updating
(the gradient norm, a snapshot of the weights), keeps Keras' running means and callbacks — and this
measures what that costs. Each repeat runs fit then the loop back to back, so a repeat's ratio compares
the two under the same machine load; the report gives the median ratio over repeats and each side's
fastest epoch (ms per step).

Workloads: the small model of bench/ddp.py (LSTM(32) + Dense(1), T50 I8, MSE) at several batch sizes, and
the seed's §5.2 program (SimpleRNN(10) + Dense(1, sigmoid), 4 sequences of 3 steps, batch 1, binary
cross-entropy), 100 epochs per fit as the seed runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import rnnkit  # before torch: it chooses the OpenMP wait policy, as the rnnkit command does
import torch
from rnnkit.layers import LSTM, Dense, SimpleRNN
from rnnkit.models import Sequential

HERE = Path(__file__).resolve().parent


def small_model(B: int, steps: int):
    T, I, H = 50, 8, 32
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B * steps, T, I)).astype(np.float32)
    y = rng.normal(size=(B * steps, 1)).astype(np.float32)
    model = Sequential([LSTM(H, input_shape=(T, I)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y, torch.nn.functional.mse_loss, 1


def seed_program():
    x = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=np.float32)[..., None]
    y = np.array([1, 0, 1, 0], dtype=np.float32)[:, None]
    model = Sequential([SimpleRNN(10, activation="tanh", input_shape=(3, 1)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model, x, y, torch.nn.functional.binary_cross_entropy, 100


def measure(model, x, y, loss_fn, epochs: int, B: int, repeats: int) -> dict:
    model.fit(x, y, batch_size=B, epochs=1, verbose=0)  # build, load kernels, create the optimizer
    optimizer = model.optimizer.torch_optimizer  # the same torch.optim.Adam fit steps
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    steps = epochs * -(-len(xt) // B)

    def with_fit() -> float:
        start = time.perf_counter()
        model.fit(x, y, batch_size=B, epochs=epochs, verbose=0)
        return time.perf_counter() - start

    def by_hand() -> float:
        start = time.perf_counter()
        model.train()
        for _ in range(epochs):
            total = 0.0
            for idx in torch.randperm(len(xt)).split(B):
                optimizer.zero_grad()
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
                total += loss.item()
        return time.perf_counter() - start

    with_fit(), by_hand()  # warm-up
    fit_s, hand_s = [], []
    for _ in range(repeats):
        fit_s.append(with_fit())
        hand_s.append(by_hand())
    ratios = [f / h for f, h in zip(fit_s, hand_s)]
    return {"steps": steps, "fit_ms_per_step": 1e3 * min(fit_s) / steps, "hand_ms_per_step": 1e3 * min(hand_s) / steps,
            "ratio_median": statistics.median(ratios), "ratio_of_fastest": min(fit_s) / min(hand_s),
            "fit_seconds_per_call_fastest": min(fit_s), "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch-sizes", default="1,4,8,16,32")
    parser.add_argument("--out", default=str(HERE / "results" / "fit_overhead.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rnnkit.set_seed(0)
    results = {}
    for B in (int(b) for b in args.batch_sizes.split(",")):
        results[f"small B{B}"] = measure(*small_model(B, steps=max(40, 400 // B)), B=B, repeats=args.repeats)
    results["seed program"] = measure(*seed_program(), B=1, repeats=args.repeats)
    print("| workload | fit ms/step | hand loop ms/step | fit ÷ loop (median of repeats) |\n|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['fit_ms_per_step']:.3f} | {r['hand_ms_per_step']:.3f} | {r['ratio_median']:.2f}x |")
    seed = results["seed program"]
    print(f"\nseed program: one fit (100 epochs, 400 steps) takes {seed['fit_seconds_per_call_fastest']:.2f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"torch": torch.__version__, "threads": 1, "results": results}, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
