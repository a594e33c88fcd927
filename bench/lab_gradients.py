"""The gradient that reaches each step, ‖∂L/∂h_t‖ for t = 1..T, of five recurrent layers at initialisation on
the same batch of the adding problem (issue 15): where each starts before any training.

    python bench/lab_gradients.py [T]      # default T = 200; writes bench/results/lab_gradients_T{T}.png and .json

One torch thread, seed 0, 256 sequences, H = 100, MSE of the read-out Dense(1) of h_T against the target.
The curves come from rnnkit's own backward through time (`rnnkit.diagnostics.hidden_gradient_norms`);
the json holds them with ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ and the spectral radius of W_hh (per gate block).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from rnnkit.diagnostics import hidden_gradient_norms, plot_gradient_norms, spectral_radius
from rnnkit.tasks.lab import LabConfig
from rnnkit.tasks.lab.pipeline import build_lab_model, load_problem

MODELS = {"tanh RNN": dict(model="rnn"), "IRNN": dict(model="irnn"), "LSTM (forget bias 1)": dict(model="lstm"),
          "LSTM (chrono)": dict(model="lstm", chrono=True), "GRU": dict(model="gru")}


def main() -> None:
    import rnnkit

    torch.set_num_threads(1)
    T = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    base = LabConfig(problem="adding", length=T, train_sequences=256, test_sequences=256, val_fraction=0.0)
    train, _ = load_problem(base)
    x, y = train.x, train.y[:, None].astype(np.float32)
    curves, summary = {}, {}
    for name, options in MODELS.items():
        config = dataclasses.replace(base, **options)
        rnnkit.set_seed(0)
        model = build_lab_model(config, train)
        model.compile(optimizer="adam", loss="mse")
        (curve,) = hidden_gradient_norms(model, x, y).values()
        curves[name] = {"h_t": np.asarray(curve)}
        (radius,) = spectral_radius(model).values()
        summary[name] = {"ratio_first_to_last": float(curve[0] / curve[-1]), "spectral_radius": radius,
                         "norms": [float(v) for v in curve]}
        print(f"{name:<22} ||dL/dh_1|| / ||dL/dh_T|| = {curve[0] / curve[-1]:.3g}   rho(W_hh) {radius}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    plot_gradient_norms(out / f"lab_gradients_T{T}.png", curves,
                        title=f"adding, T = {T}, at initialisation: ||dL/dh_t|| (batch mean of 256)")
    (out / f"lab_gradients_T{T}.json").write_text(json.dumps({"command": " ".join(["python", *sys.argv]),
                                                                "models": summary}, indent=1) + "\n")
    print(f"written {out / f'lab_gradients_T{T}.png'}")


if __name__ == "__main__":
    main()
