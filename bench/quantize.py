"""Dynamic int8 quantisation (rnnkit.compress.quantize_dynamic) on a real task: accuracy, stored weight bytes
and predict() time beside the float32 model, in one run (interleaved repeats, medians, ratios).

    python bench/quantize.py [--data japanese_vowels] [--seeds 0 1 2] [--out bench/results/quantize_japanese_vowels.json]

Per seed: the classify default (`rnnkit train --data DATA`: LSTM 64, best validation epoch kept) trained on the
task, then int8; test accuracy of both; weight bytes (parameters and buffers); the time of predict() over the
whole test set (batch 128), float32 (our compiled kernels) vs int8 (x86 int8 GEMM, recurrence stepped in
Python). A last row times one wider synthetic layer (LSTM 256, B 128, T 50, I 32) the same way. 1 torch thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch


def _timed(predict, repeats: int = 7) -> list[float]:
    predict()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict()
        times.append(time.perf_counter() - start)
    return times


def _speed(models: dict, x) -> dict[str, float]:
    runs = {name: [] for name in models}
    for _ in range(3):                                   # interleaved: a noisy neighbour hits every model alike
        for name, model in models.items():
            runs[name] += _timed(lambda: model.predict(x, batch_size=128), repeats=3)
    return {name: statistics.median(t) for name, t in runs.items()}


def run_seed(data_name: str, seed: int) -> dict:
    import rnnkit
    from rnnkit.compress import quantize_dynamic, weight_bytes
    from rnnkit.tasks.classify.config import ClassifyConfig
    from rnnkit.tasks.classify.pipeline import load_sequences, predict_classes, train_classifier, scale_sequences

    config = ClassifyConfig(data=data_name, seed=seed, baseline="none")
    data = load_sequences(config)
    result = train_classifier(config, data=data)
    model = result.model
    test_x = scale_sequences(result.scaler, data.test_sequences)
    int8 = quantize_dynamic(model)
    accuracy = {name: float((predict_classes(m, test_x)[0] == data.test_labels).mean())
                for name, m in (("float32", model), ("int8", int8))}
    seconds = _speed({"float32": model, "int8": int8}, test_x)
    return {"seed": seed, "accuracy_float32": accuracy["float32"], "accuracy_int8": accuracy["int8"],
            "accuracy_ratio": accuracy["int8"] / accuracy["float32"],
            "bytes_float32": weight_bytes(model), "bytes_int8": weight_bytes(int8),
            "size_ratio": weight_bytes(model) / weight_bytes(int8),
            "predict_s_float32": seconds["float32"], "predict_s_int8": seconds["int8"],
            "speedup": seconds["float32"] / seconds["int8"]}


def wide_row() -> dict:
    import rnnkit
    from rnnkit import layers as L
    from rnnkit.compress import quantize_dynamic, weight_bytes

    rnnkit.set_seed(0)
    model = rnnkit.Sequential([L.LSTM(256), L.Dense(10)])
    x = np.random.default_rng(0).normal(size=(128, 50, 32)).astype("float32")
    model.predict(x[:2])
    int8 = quantize_dynamic(model)
    seconds = _speed({"float32": model, "int8": int8}, x)
    return {"model": "LSTM 256, B 128, T 50, I 32", "bytes_float32": weight_bytes(model),
            "bytes_int8": weight_bytes(int8), "predict_s_float32": seconds["float32"],
            "predict_s_int8": seconds["int8"], "speedup": seconds["float32"] / seconds["int8"],
            "max_abs_output_diff": float(np.abs(model.predict(x) - int8.predict(x)).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="japanese_vowels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out or f"bench/results/quantize_{args.data}.json")
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args.data, seed))
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
    wide = wide_row()
    print(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in wide.items()}), flush=True)
    out.write_text(json.dumps({"data": args.data, "threads": 1, "torch": torch.__version__, "rows": rows,
                               "wide": wide}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
