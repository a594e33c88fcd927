"""``Sequential``: a stack of layers with Keras' ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

The model is a ``torch.nn.Module`` (``model.parameters()``, ``state_dict()``, ``model(x)`` work as
usual). ``fit`` and friends live in :mod:`rnnkit.training.loop`; one step of training is
:meth:`Sequential.train_step`, the place to override for custom training logic.
"""

from __future__ import annotations

import os
from typing import Any
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit import losses as losses_module
from rnnkit import metrics as metrics_module
from rnnkit import optimizers as optimizers_module
from rnnkit.layers import Embedding, Layer
from rnnkit.layers._base import snake_case
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.layers.wrappers import Bidirectional
from rnnkit.models._summary import summary_text
from rnnkit.training import loop
from rnnkit.training.callback import Callback
from rnnkit.training.data import Batch
from rnnkit.training.history import History
from rnnkit.training.step import StepResult, WeightSnapshot, test_step, train_step

__all__ = ["Sequential"]


class Sequential(nn.Module):
    """``Sequential([SimpleRNN(10, input_shape=(T, I)), Dense(1, activation="sigmoid")])``."""

    def __init__(self, layers: Iterable[Layer] | None = None, *, name: str | None = None) -> None:
        super().__init__()
        self.name = name or "sequential"
        self.layers = nn.ModuleList()
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.compiled_metrics: list[metrics_module.Metric] = []
        self.metric_identifiers: list[Any] = []
        self.history: History | None = None
        self.stop_training = False
        self.fit_seed: int | None = None
        self.saved_epoch: int | None = None  # set by load_model from a checkpoint: resume with initial_epoch=saved_epoch
        for layer in layers or []:
            self.add(layer)

    # --- structure --------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: expected an rnnkit layer (rnnkit.layers.Dense, LSTM, ...); got {type(layer).__name__}."
            )
        if self.layers and getattr(self.layers[-1], "return_state", False):
            raise ValueError("Sequential: a layer with return_state=True must be the last one; its output is a tuple.")
        if getattr(layer, "return_state", False):
            raise ValueError(
                f"Sequential: {type(layer).__name__}(return_state=True) returns a tuple, which a Sequential model "
                "cannot pass on or train; call the layer directly to get its states."
            )
        if self.layers and layer.input_shape is not None:
            raise ValueError(
                f"Sequential: only the first layer may set input_shape; {type(layer).__name__} at position "
                f"{len(self.layers)} has input_shape={layer.input_shape}. Remove it; the shape is inferred."
            )
        if layer.name is None:
            layer.name = self._unique_name(snake_case(type(layer).__name__))
        elif any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential: layer names must be unique; {layer.name!r} is already used.")
        self.layers.append(layer)
        if len(self.layers) == 1 and layer.input_shape is not None:
            self.build(layer.input_shape)
        elif self.built_input_shape is not None:
            self.build(self.built_input_shape)

    def _unique_name(self, base: str) -> str:
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        k = 1
        while f"{base}_{k}" in taken:
            k += 1
        return f"{base}_{k}"

    @property
    def built_input_shape(self) -> tuple | None:
        return self.layers[0].built_input_shape if self.layers and self.layers[0].built else None

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Create every layer's weights for inputs ``(batch, *input_shape)``, without running data."""
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.build_once(shape)
            shape = layer.compute_output_shape(shape)

    def build_from_data(self, x: Tensor) -> None:
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        if not self.built:
            self.build(tuple(x.shape[1:]))

    def check_input_shape(self, input_shape: tuple) -> None:
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        self.layers[0].check_input_shape(input_shape)

    @property
    def device(self) -> torch.device | None:
        """Where the weights are (inputs are moved there); None before the model is built."""
        first = next(self.parameters(), None)
        return None if first is None else first.device

    def expects_ids(self) -> bool:
        return bool(self.layers) and isinstance(self.layers[0], Embedding)

    def expects_sequences(self) -> bool:
        return bool(self.layers) and isinstance(self.layers[0], (RecurrentLayer, Bidirectional))

    def output_shapes(self) -> list[tuple]:
        if not self.built:
            raise ValueError("Sequential: the model is not built yet; give the first layer input_shape=, "
                             "call build(input_shape), or fit / predict once.")
        shapes, shape = [], self.built_input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    # --- running ----------------------------------------------------------------------------
    def forward_with_lengths(self, x: Tensor, *, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Output and the lengths that still apply to it (for a sequence output of a padded batch)."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with add() or Sequential([...]).")
        if x.is_floating_point() and x.dtype != torch.float32 and not self.expects_ids():
            x = x.float()
        for layer in self.layers:
            x, lengths = layer.propagate(x, lengths)
        return x, lengths

    def forward(self, x: Tensor, *, lengths: Tensor | None = None) -> Tensor:
        return self.forward_with_lengths(x, lengths=lengths)[0]

    # --- training API -----------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers_module.Optimizer = "rmsprop",
        loss: str | losses_module.Loss | Callable | None = None,
        metrics: Sequence[str | metrics_module.Metric] | None = None,
        *,
        learning_rate: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        """Choose optimizer, loss and metrics. ``learning_rate`` / ``clipnorm`` / ``clipvalue`` configure an
        optimizer given by name (an optimizer object carries its own)."""
        overrides = {k: v for k, v in (("learning_rate", learning_rate), ("clipnorm", clipnorm),
                                       ("clipvalue", clipvalue)) if v is not None}
        if overrides and isinstance(optimizer, optimizers_module.Optimizer):
            raise ValueError(
                f"compile: {sorted(overrides)} apply to an optimizer given by name; for an optimizer object pass "
                f"them to it instead, e.g. {type(optimizer).__name__}(learning_rate=..., clipnorm=...)."
            )
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='mse' or loss='binary_crossentropy'.")
        self.optimizer = optimizers_module.get(optimizer, **overrides)
        if self.optimizer.built and self.built:
            self.optimizer.build(self.parameters())  # raises if it belongs to another model
        self.loss = losses_module.get(loss)
        if metrics is not None and (isinstance(metrics, (str, metrics_module.Metric)) or not isinstance(metrics, Sequence)):
            raise TypeError(f"compile: metrics must be a list, e.g. metrics=['accuracy']; got {metrics!r}.")
        self.metric_identifiers = list(metrics or [])
        self.compiled_metrics = [metrics_module.get(m, loss=self.loss) for m in self.metric_identifiers]
        names = ["loss", *(m.name for m in self.compiled_metrics)]
        if len(set(names)) != len(names):
            raise ValueError(f"compile: metric names must be unique and not 'loss'; got {names[1:]}.")

    def require_compiled(self, where: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise ValueError(f"{where}: the model is not compiled; call model.compile(optimizer=..., loss=...) first.")

    def train_step(self, batch: Batch, *, snapshot: WeightSnapshot | None = None) -> StepResult:
        return train_step(self, batch, snapshot=snapshot)

    def test_step(self, batch: Batch) -> StepResult:
        return test_step(self, batch)

    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        seed: int | None = None,
    ) -> History:
        """Train on ``x`` (NumPy, torch, pandas, or a list of variable-length sequences) and ``y``.

        ``epochs`` is the index to stop at (Keras' meaning), so ``initial_epoch=k`` resumes a run.
        ``verbose``: "auto" (a live bar on a terminal, else a line per epoch, as Keras), 0, 1 (bar) or 2 (a line per epoch).
        Returns the :class:`History`, also kept as ``model.history``.
        """
        return loop.fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            initial_epoch=initial_epoch, seed=seed,
        )

    def evaluate(
        self, x: Any, y: Any = None, *, batch_size: int = 32, return_dict: bool = False, verbose: int | str = 0
    ) -> float | list[float] | dict[str, float]:
        """Loss, or ``[loss, *metrics]``, or with ``return_dict`` a dict (``verbose`` is accepted and unused)."""
        return loop.evaluate(self, x, y, batch_size=batch_size, return_dict=return_dict, verbose=verbose)

    def predict(self, x: Any, *, batch_size: int = 32, verbose: int | str = 0) -> np.ndarray:
        """Outputs as a NumPy array, in eval mode (``verbose`` is accepted and unused)."""
        return loop.predict(self, x, batch_size=batch_size, verbose=verbose)

    # --- inspection and persistence ---------------------------------------------------------
    def summary(self, *, print_fn: Callable[[str], Any] = print) -> None:
        print_fn(summary_text(self))

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def get_weights(self) -> list[np.ndarray]:
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        params = list(self.parameters())
        if len(weights) != len(params):
            raise ValueError(f"set_weights: expected {len(params)} arrays; got {len(weights)}.")
        with torch.no_grad():
            for i, (p, w) in enumerate(zip(params, weights)):
                w = torch.as_tensor(np.asarray(w), dtype=p.dtype)
                if w.shape != p.shape:
                    raise ValueError(f"set_weights: array {i} must have shape {tuple(p.shape)}; got {tuple(w.shape)}.")
                p.copy_(w)

    def get_config(self) -> dict[str, Any]:
        from rnnkit.layers import serialize

        return {
            "name": self.name,
            "layers": [serialize(layer) for layer in self.layers],
            "build_input_shape": list(self.built_input_shape) if self.built_input_shape else None,
        }

    def save(self, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
        """Weights as safetensors and architecture / compile settings as JSON, in one file (no pickle)."""
        from rnnkit.saving import save_model

        save_model(self, path, include_optimizer=include_optimizer)
