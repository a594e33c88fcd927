"""``rnnkit.Model``: subclass it as in Keras (layers in ``__init__``, the computation in ``call``), or wrap any
``torch.nn.Module``; ``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``summary`` / ``save`` then work as for
``Sequential``, which is a ``Model`` too.

    >>> @rnnkit.saving.register_serializable()
    ... class Tagger(rnnkit.Model):
    ...     def __init__(self, *, vocab: int, units: int = 32, tags: int = 5):
    ...         super().__init__()
    ...         self.embed = Embedding(vocab, 16)
    ...         self.lstm = LSTM(units, return_sequences=True)
    ...         self.out = Dense(tags, activation="softmax")
    ...     def call(self, inputs, training=False, lengths=None):
    ...         return self.out(self.lstm(self.embed(inputs), lengths=lengths))

``call(inputs, training=False)``: ``inputs`` is what ``x`` holds per batch (a tensor, a tuple or a dict);
add a ``lengths=None`` parameter to receive the ``(B,)`` lengths of padded variable-length batches. Return a
tensor, or a tuple/dict of them (several outputs: ``compile`` then takes a loss per output).

Custom objectives override ``train_step(batch)`` (and ``test_step``), Keras 3 style: compute the loss, call
``self.optimize(loss)``, return a dict of logs. ``fit`` keeps its callbacks, progress, divergence handling and
checkpoints around any step. Saving needs no pickle: the class is looked up by its registered name, rebuilt
from ``get_config()`` (by default the keyword arguments ``__init__`` was called with, when they are plain
JSON values), run once on zeros shaped like the first batch it saw (which creates lazily-built weights),
and given the saved weights.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit import optimizers as optimizers_module
from rnnkit.layers._base import first_float_parameter, snake_case
from rnnkit.models._compile import CompiledLoss, compile_losses
from rnnkit.training import loop
from rnnkit.training.callback import Callback
from rnnkit.training.data import Batch
from rnnkit.training.history import History
from rnnkit.training.step import default_test_step, default_train_step, optimize
from rnnkit.training.structure import flatten, is_structure, map_structure

__all__ = ["Model"]


class Model(nn.Module):
    """Base class of every trainable rnnkit model; subclasses define ``call`` (or are made by ``Model.wrap``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_records_config", False):
            return

        @functools.wraps(init)
        def recording_init(self, *args: Any, **kw: Any) -> None:
            if not hasattr(self, "_init_config"):  # the outermost subclass's arguments win
                try:
                    bound = inspect.signature(init).bind(self, *args, **kw)
                    bound.apply_defaults()
                    values = {k: v for k, v in list(bound.arguments.items())[1:]
                              if inspect.signature(init).parameters[k].kind not in (inspect.Parameter.VAR_POSITIONAL,)}
                    flat = {**{k: v for k, v in values.items() if k != "kwargs"}, **values.get("kwargs", {})}
                    json.dumps(flat)
                    object.__setattr__(self, "_init_config", flat)
                except (TypeError, ValueError):
                    object.__setattr__(self, "_init_config", None)  # not plain JSON: get_config must be written
            init(self, *args, **kw)

        recording_init._records_config = True  # type: ignore[attr-defined]
        cls.__init__ = recording_init  # type: ignore[assignment]

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str; got {name!r}.")
        self.name = name or snake_case(type(self).__name__)
        self.optimizer: optimizers_module.Optimizer | None = None
        self.compiled_loss: CompiledLoss | None = None
        self.history: History | None = None
        self.stop_training = False
        self.fit_seed: int | None = None
        self.saved_epoch: int | None = None  # set by load_model from a checkpoint: resume with initial_epoch=saved_epoch
        self.input_spec: Any = None          # shapes/dtypes of the first inputs seen (saving rebuilds from it)
        self._snapshot = None
        self.__dict__["_ddp"] = None         # the DistributedDataParallel wrapper during a distributed fit

    # --- subclass hooks ---------------------------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}: subclasses of rnnkit.Model define call(self, inputs, training=False) "
            "(or build the model with Sequential([...]) or Model.wrap(module))."
        )

    def output_lengths(self, outputs: Any, lengths: Tensor | None) -> Tensor | None:
        """The lengths that still hold for sequence outputs (they mask the loss and metrics). Default: the
        input lengths, for outputs whose time axis is as long as the longest input; override otherwise."""
        if lengths is None:
            return None
        T = int(lengths.max())
        shaped = [o for o in flatten(outputs) if isinstance(o, Tensor) and o.dim() == 3]
        return lengths if shaped and all(o.shape[1] == T for o in shaped) else None

    # --- running ----------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # During a distributed fit the forward goes through DistributedDataParallel (which then calls this
        # model again, reentrantly), so that backward all-reduces the gradients.
        ddp = self.__dict__.get("_ddp")
        if ddp is not None and not self.__dict__.get("_in_ddp", False):
            self.__dict__["_in_ddp"] = True
            try:
                return ddp(*args, **kwargs)
            finally:
                self.__dict__["_in_ddp"] = False
        return super().__call__(*args, **kwargs)

    def forward(self, inputs: Any, *, lengths: Tensor | None = None, training: bool | None = None) -> Any:
        if self.input_spec is None:
            self.input_spec = _spec_of(inputs)
        kwargs: dict[str, Any] = {"training": self.training if training is None else bool(training)}
        if lengths is not None or _takes_lengths(type(self).call):
            if not _takes_lengths(type(self).call):
                raise ValueError(f"{type(self).__name__}: x is a batch of variable-length sequences (padded, with "
                                 "lengths), but call() has no lengths parameter; define call(self, inputs, "
                                 "training=False, lengths=None) and pass lengths= to the recurrent layers.")
            kwargs["lengths"] = lengths
        return self.call(inputs, **kwargs)

    def forward_with_lengths(self, x: Any, *, lengths: Tensor | None = None) -> tuple[Any, Tensor | None]:
        outputs = self(x, lengths=lengths)
        return outputs, self.output_lengths(outputs, lengths)

    @property
    def built(self) -> bool:
        return self.input_spec is not None or any(True for _ in self.parameters())

    def build_from_data(self, x: Any, lengths: Tensor | None = None) -> None:
        """Run one batch through the model without gradients (eval mode), so lazily-built layers make their
        weights before the optimizer is built. Their initial values come from torch's global generator."""
        if self.input_spec is not None:
            return
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                self(x, lengths=lengths)
        except Exception as error:
            if type(self).train_step is Model.train_step:
                raise
            raise ValueError(
                f"{type(self).__name__}: fit builds the model by calling it on the first batch's x, and call() "
                f"failed on it ({type(error).__name__}: {error}). When call() takes other inputs than x (a custom "
                "train_step), build the model first by calling it once on example inputs, e.g. model(example)."
            ) from error
        finally:
            self.train(was_training)

    @property
    def device(self) -> torch.device | None:
        """Where the weights are (inputs are moved there); None before the model has any."""
        first = next(self.parameters(), None)
        return None if first is None else first.device

    def stateful_layers(self) -> list[nn.Module]:
        """The layers with ``stateful=True`` (nested ones included)."""
        return [m for m in self.modules() if m is not self and getattr(m, "stateful", False) is True
                and callable(getattr(m, "reset_states", None))]

    def reset_states(self) -> None:
        """Start every stateful layer from zeros again (``fit`` does it at each epoch and before evaluating)."""
        for layer in self.stateful_layers():
            layer.reset_states()

    # what fit's data adapter asks of a model (Sequential answers from its first layer)
    def input_kind(self) -> str:
        return "auto"  # integer arrays stay int64 (token ids), floats become float32

    def expects_sequences(self) -> bool:
        return False

    def float_dtype(self) -> torch.dtype:
        """The dtype float inputs are given: float64 for a model whose weights are float64, else float32."""
        first = first_float_parameter(self)
        return torch.float64 if first is not None and first.dtype == torch.float64 else torch.float32

    def requires_feature_axis(self) -> bool:
        return False

    def check_input_shape(self, input_shape: tuple) -> None:
        """Subclasses may check ``(batch, *input_shape)`` before training starts."""

    def check_input_structure(self, x: Any) -> None:
        """Subclasses may check a tuple/dict of inputs before training starts."""

    # --- training API -----------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers_module.Optimizer = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        *,
        loss_weights: Sequence[float] | dict[str, float] | None = None,
        learning_rate: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        """Choose optimizer, loss and metrics (one of each per output, for several outputs; ``loss_weights``
        scale the terms). ``learning_rate`` / ``clipnorm`` / ``clipvalue`` configure an optimizer given by name."""
        overrides = {k: v for k, v in (("learning_rate", learning_rate), ("clipnorm", clipnorm),
                                       ("clipvalue", clipvalue)) if v is not None}
        if overrides and isinstance(optimizer, optimizers_module.Optimizer):
            raise ValueError(
                f"compile: {sorted(overrides)} apply to an optimizer given by name; for an optimizer object pass "
                f"them to it instead, e.g. {type(optimizer).__name__}(learning_rate=..., clipnorm=...)."
            )
        compiled = compile_losses(loss, metrics, loss_weights)
        self.optimizer = optimizers_module.get(optimizer, **overrides)
        if self.optimizer.built and any(True for _ in self.parameters()):
            self.optimizer.build(self.parameters())  # raises if it belongs to another model
        self.compiled_loss = compiled

    @property
    def loss(self) -> Any:
        """The compiled loss (one ``Loss``), or the per-output dict of them; None before ``compile``."""
        if self.compiled_loss is None:
            return None
        return self.compiled_loss.single if self.compiled_loss.keys is None else dict(self.compiled_loss.losses)

    @property
    def compiled_metrics(self) -> list:
        return [] if self.compiled_loss is None else self.compiled_loss.all_metrics()

    def require_compiled(self, where: str) -> None:
        if self.optimizer is None or self.compiled_loss is None:
            raise ValueError(f"{where}: the model is not compiled; call model.compile(optimizer=..., loss=...) first.")

    def train_step(self, batch: Batch) -> dict[str, Any]:
        """One step of training on ``batch`` (``batch.x``, ``batch.y``, ``batch.lengths``, ``batch.sample_weight``).

        Override for a custom objective: compute ``loss`` (e.g. with ``self.compute_loss``), call
        ``self.optimize(loss)``, optionally ``self.update_metrics(...)``, and return ``{"loss": loss, ...}``;
        ``fit`` averages every returned value over the epoch and adds the compiled metrics.
        """
        return default_train_step(self, batch)

    def test_step(self, batch: Batch) -> dict[str, Any]:
        """One evaluation step (no gradients): the same logs as ``train_step``."""
        return default_test_step(self, batch)

    def compute_loss(self, y: Any, y_pred: Any, *, lengths: Tensor | None = None,
                     sample_weight: Tensor | None = None) -> Tensor:
        """The compiled (weighted, masked) total loss of ``y_pred`` against ``y``."""
        from rnnkit.training.step import output_masks

        self.require_compiled("compute_loss")
        return self.compiled_loss(y, y_pred, masks=output_masks(y_pred, lengths), sample_weight=sample_weight)["loss"]

    def update_metrics(self, y: Any, y_pred: Any, *, lengths: Tensor | None = None,
                       sample_weight: Tensor | None = None) -> None:
        from rnnkit.training.step import output_masks

        self.compiled_loss.update_metrics(y, y_pred, masks=output_masks(y_pred, lengths), sample_weight=sample_weight)

    def optimize(self, loss: Tensor) -> None:
        """Backward, clip and update with the compiled optimizer; a non-finite loss or gradient raises
        ``rnnkit.training.step.Diverged`` before anything changes (``fit`` then stops cleanly)."""
        optimize(self, loss, snapshot=self._snapshot)

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
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_freq: int | Sequence[int] = 1,
        seed: int | None = None,
        distributed: bool | None = None,
    ) -> History:
        """Train on ``x`` (arrays, a list of variable-length sequences, a tuple/dict of arrays, a torch
        ``Dataset`` / ``DataLoader`` / ``IterableDataset`` or a generator of ``(x, y[, sample_weight])``).

        ``epochs`` is the index to stop at (Keras' meaning), so ``initial_epoch=k`` resumes a run.
        ``verbose``: "auto" (a live bar on a terminal, else a line per epoch, as Keras), 0, 1 (bar) or 2.
        ``distributed``: data-parallel over a ``torch.distributed`` process group (DDP); on by default when
        launched by ``torchrun`` with several processes (``batch_size`` is then the global batch).
        Returns the :class:`History`, also kept as ``model.history``.
        """
        return loop.fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps, validation_freq=validation_freq,
            seed=seed, distributed=distributed,
        )

    def evaluate(self, x: Any, y: Any = None, *, batch_size: int = 32, sample_weight: Any = None,
                 steps: int | None = None, return_dict: bool = False, verbose: int | str = 0) -> Any:
        """Loss, or ``[loss, *metrics]``, or with ``return_dict`` a dict (``verbose`` is accepted and unused)."""
        return loop.evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight, steps=steps,
                             return_dict=return_dict, verbose=verbose)

    def predict(self, x: Any, *, batch_size: int = 32, steps: int | None = None, verbose: int | str = 0) -> Any:
        """Outputs as NumPy arrays (a tuple/dict of them for several outputs), in eval mode."""
        return loop.predict(self, x, batch_size=batch_size, steps=steps, verbose=verbose)

    # --- inspection and persistence ---------------------------------------------------------------
    def summary(self, *, print_fn: Callable[[str], Any] = print) -> None:
        from rnnkit.models._summary import summary_text

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
        """The constructor arguments that rebuild this model (saved as JSON). By default those ``__init__`` was
        called with, when they are plain JSON values; otherwise override this (and ``from_config``)."""
        config = getattr(self, "_init_config", None)
        if config is None:
            raise NotImplementedError(
                f"{type(self).__name__}: cannot save the architecture: its __init__ arguments are not plain JSON "
                "values (numbers, strings, lists, dicts). Define get_config() returning the arguments that rebuild "
                "it (and from_config(cls, config) if cls(**config) does not)."
            )
        return dict(config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        return cls(**config)

    def build_from_spec(self, spec: Any) -> None:
        """Create lazily-built weights by running zeros shaped like ``spec`` (see ``input_spec``)."""
        if spec is None:
            return
        self.build_from_data(_zeros_like_spec(spec))

    def save(self, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
        """Weights as safetensors and architecture / compile settings as JSON, in one file (no pickle)."""
        from rnnkit.saving import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    @staticmethod
    def wrap(module: nn.Module, *, name: str | None = None) -> Model:
        """A ``Model`` around a plain ``torch.nn.Module``: ``module(inputs)`` (a tuple is passed as positional
        arguments, a dict as keyword arguments) gets ``compile`` / ``fit`` / callbacks / checkpoints."""
        from rnnkit.models.wrapped import WrappedModel

        return WrappedModel(module, name=name)


def _takes_lengths(call: Callable) -> bool:
    return "lengths" in inspect.signature(call).parameters


def _spec_of(inputs: Any) -> Any:
    def leaf(t: Any) -> dict[str, Any]:
        if not isinstance(t, Tensor):
            raise TypeError(f"model inputs must be tensors (or a tuple/dict of tensors); got {type(t).__name__}.")
        return {"shape": list(t.shape[1:]), "dtype": str(t.dtype).replace("torch.", "")}

    return map_structure(leaf, inputs) if is_structure(inputs) else leaf(inputs)


def _zeros_like_spec(spec: Any) -> Any:
    def leaf(entry: dict[str, Any]) -> Tensor:
        shape, dtype = entry.get("shape"), entry.get("dtype")
        if not isinstance(shape, list) or not all(isinstance(d, int) and 0 < d <= 1 << 20 for d in shape):
            raise ValueError(f"input spec shape must be a list of positive ints; got {shape!r}")
        if dtype not in ("float32", "float64", "int64", "int32", "bool"):
            raise ValueError(f"input spec dtype {dtype!r} is not supported")
        return torch.zeros((1, *shape), dtype=getattr(torch, dtype))

    if isinstance(spec, list):  # JSON turned the tuple of inputs into a list
        return tuple(leaf(e) for e in spec)
    if isinstance(spec, dict) and "shape" not in spec:
        return {k: leaf(v) for k, v in spec.items()}
    return leaf(spec)
