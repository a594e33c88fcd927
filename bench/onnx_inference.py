"""Inference time of an exported ONNX file in onnxruntime beside rnnkit's own forward, in one run (1 thread each,
interleaved repeats, medians, ratios).

    python bench/onnx_inference.py [--out bench/results/onnx_inference.json]

Models: the classify default's shape (LSTM 64 → Dense, B 128, T 29, I 12: JapaneseVowels-sized) and a wider one
(LSTM 256, B 128, T 50, I 32). Both padded batches with lengths. rnnkit: the model under torch.no_grad() (our
compiled kernels); onnxruntime: the file from rnnkit.export.to_onnx (an ONNX Scan loop), intra-op threads 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _median_seconds(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(units: int, B: int, T: int, I: int, folder: Path) -> dict:
    import onnxruntime

    import rnnkit
    from rnnkit import layers as L
    from rnnkit.export import to_onnx

    rnnkit.set_seed(0)
    model = rnnkit.Sequential([L.LSTM(units), L.Dense(10)]).eval()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(B, T, I)).astype("float32"))
    lengths = torch.from_numpy(rng.integers(T // 2, T + 1, B))
    lengths[0] = T
    with torch.no_grad():
        model(x[:2], lengths=lengths[:2].clamp(max=T))
    result = to_onnx(model, folder / f"lstm{units}.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(result.path), options, providers=["CPUExecutionProvider"])
    feeds = {"x": x.numpy(), "lengths": lengths.numpy()}

    def ours():
        with torch.no_grad():
            return model(x, lengths=lengths)

    times = {"rnnkit": [], "onnxruntime": []}
    for _ in range(3):
        times["rnnkit"].append(_median_seconds(ours))
        times["onnxruntime"].append(_median_seconds(lambda: session.run(None, feeds)))
    seconds = {k: statistics.median(v) for k, v in times.items()}
    difference = float(np.abs(session.run(None, feeds)[0] - ours().numpy()).max())
    return {"model": f"LSTM {units} -> Dense 10, B {B}, T {T}, I {I}", "rnnkit_s": seconds["rnnkit"],
            "onnxruntime_s": seconds["onnxruntime"], "onnxruntime_over_rnnkit": seconds["onnxruntime"] / seconds["rnnkit"],
            "max_abs_diff": difference, "export_check_max_abs_diff": result.max_abs_error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/onnx_inference.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for units, B, T, I in ((64, 128, 29, 12), (256, 128, 50, 32)):
            rows.append(row(units, B, T, I, Path(folder)))
            print(json.dumps({k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
    Path(args.out).write_text(json.dumps({"threads": 1, "torch": torch.__version__, "rows": rows}, indent=2) + "\n",
                              encoding="utf-8")


if __name__ == "__main__":
    main()
