"""Diagnostics of recurrent training: the gradient that reaches each time step, ‖∂L/∂h_t‖ for t = 1..T, from
rnnkit's own BPTT (``gradients``), the spectral radius of the recurrent weights (``spectral``), a log-scale
plot of the norms over t for several models side by side (``plots``), and ``GradientMonitor``, a ``fit``
callback that records them and warns when they vanish or explode (``monitor``).

    norms = hidden_gradient_norms(model, x, y)          # {"lstm:l0": (T,) array, ...}
    plot_gradient_norms("grads.png", {"LSTM": norms, "RNN": hidden_gradient_norms(rnn_model, x, y)})
"""

from rnnkit.diagnostics.gradients import (
    GradientRecording,
    HiddenGradients,
    hidden_gradient_norms,
    hidden_gradients,
    measure_hidden_gradients,
    recurrent_layers,
)
from rnnkit.diagnostics.monitor import (
    ExplodingGradientWarning,
    GradientMonitor,
    GradientWarning,
    VanishingGradientWarning,
)
from rnnkit.diagnostics.plots import plot_gradient_norms
from rnnkit.diagnostics.spectral import matrix_spectral_radius, spectral_radius

__all__ = [
    "hidden_gradients",
    "hidden_gradient_norms",
    "measure_hidden_gradients",
    "HiddenGradients",
    "GradientRecording",
    "recurrent_layers",
    "spectral_radius",
    "matrix_spectral_radius",
    "plot_gradient_norms",
    "GradientMonitor",
    "GradientWarning",
    "VanishingGradientWarning",
    "ExplodingGradientWarning",
]
