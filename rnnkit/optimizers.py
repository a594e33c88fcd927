"""Keras-named optimizers as thin wrappers over ``torch.optim`` (Keras' default hyperparameters).

The torch optimizer is created lazily by :meth:`Optimizer.build` once the model's parameters
exist (a layer without ``input_shape`` creates its weights on first call). Gradient clipping is an
optimizer option, as in Keras: ``clipnorm`` clips the global L2 norm of all gradients
(``torch.nn.utils.clip_grad_norm_``), ``clipvalue`` clips every element to ``[-v, v]``.
"""

from __future__ import annotations

import abc
from dataclasses import asdict, fields
from typing import Any
from collections.abc import Iterable

import torch

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adamax", "HessianFree", "get"]


class Optimizer(abc.ABC):
    """Base class. Subclasses name their ``torch.optim`` class and map Keras arguments onto it."""

    name = "optimizer"

    def __init__(
        self, learning_rate: float, *, clipnorm: float | None = None, clipvalue: float | None = None
    ) -> None:
        _check_positive("learning_rate", learning_rate, type(self).__name__)
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is not None:
                _check_positive(arg, value, type(self).__name__)
        self._learning_rate = float(learning_rate)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self._torch: torch.optim.Optimizer | None = None
        self._params: list[torch.nn.Parameter] = []
        self._pending_state: dict | None = None

    # --- subclass hooks -------------------------------------------------------------------
    @abc.abstractmethod
    def _make(self, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """Subclasses define this."""

    def _hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments besides learning rate and clipping, for ``get_config``."""
        return {}

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self._torch is not None

    def build(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Create the ``torch.optim`` optimizer over ``params`` (trainable ones only)."""
        params = [p for p in params if p.requires_grad]
        if self._torch is not None:
            if len(params) != len(self._params) or any(a is not b for a, b in zip(params, self._params)):
                raise ValueError(
                    f"{type(self).__name__} is already built for another model's parameters; "
                    "create a new optimizer for each model."
                )
            return
        if not params:
            raise ValueError(f"{type(self).__name__}: the model has no trainable parameters to optimize.")
        self._params = params
        self._torch = self._make(params)
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    @property
    def torch_optimizer(self) -> torch.optim.Optimizer:
        if self._torch is None:
            raise ValueError(f"{type(self).__name__} is not built yet; it is built by fit() once weights exist.")
        return self._torch

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        _check_positive("learning_rate", value, type(self).__name__, allow_zero=True)
        self._learning_rate = float(value)
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = self._learning_rate

    # --- one update -----------------------------------------------------------------------
    def zero_grad(self) -> None:
        """``torch.optim.Optimizer.zero_grad(set_to_none=True)`` over the built parameters, without its
        per-call profiler scope (about a tenth of a small model's step; bench/fit_overhead.py)."""
        self.torch_optimizer  # noqa: B018 - the "not built yet" error
        for p in self._params:
            p.grad = None

    def clip_gradients(self) -> torch.Tensor:
        """Clip gradients in place as configured; return the global gradient norm (before clipping).

        ‖g‖ = sqrt(Σ_k ‖g_k‖²) over every gradient k, then with ``clipnorm`` c every g_k ← g_k · min(1, c / (‖g‖ + 1e-6))
        — ``torch.nn.utils.clip_grad_norm_``'s arithmetic, in one ``_foreach_norm`` and one ``_foreach_mul_``
        when all gradients share a device and dtype (torch's version regroups them on every call); the
        reference path is torch's own, and tests assert the two agree.
        """
        grads = [p.grad for p in self._params if p.grad is not None]
        if self.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(self._params, self.clipvalue)
        if not grads:
            return torch.zeros(())
        first = grads[0]
        if any(g.device != first.device or g.dtype != first.dtype or g.is_sparse for g in grads):
            return clip_reference(self._params, grads, self.clipnorm)
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))  # ‖g‖
        if self.clipnorm is not None:
            coefficient = torch.clamp(self.clipnorm / (total + 1e-6), max=1.0)  # min(1, c / (‖g‖ + 1e-6))
            torch._foreach_mul_(grads, coefficient)
        return total

    def step(self) -> None:
        self.torch_optimizer.step()

    # --- serialisation --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self._learning_rate,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            **self._hyperparameters(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        return cls(config.pop("learning_rate"), **config)

    def state_dict(self) -> dict:
        """``torch.optim`` state dict, or the pending one if loaded before :meth:`build`."""
        if self._torch is None:
            return self._pending_state or {}
        return self._torch.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Load ``torch.optim`` state now, or at :meth:`build` if the optimizer is not built yet."""
        if self._torch is None:
            self._pending_state = state
            return
        self._torch.load_state_dict(state)
        self._learning_rate = float(self._torch.param_groups[0]["lr"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def clip_reference(params: list[torch.nn.Parameter], grads: list[torch.Tensor], clipnorm: float | None) -> torch.Tensor:
    """The global-norm clipping of ``Optimizer.clip_gradients`` by ``torch.nn.utils`` (its reference)."""
    if clipnorm is not None:
        return torch.nn.utils.clip_grad_norm_(params, clipnorm)
    return torch.nn.utils.get_total_norm(grads)


def _check_positive(arg: str, value: Any, owner: str, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {arg} must be a number; got {type(value).__name__} {value!r}.")
    if not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{owner}: {arg} must be > 0; got {value}.")


class SGD(Optimizer):
    """``torch.optim.SGD``; Keras defaults ``learning_rate=0.01, momentum=0``."""

    name = "sgd"

    def __init__(
        self, learning_rate: float = 0.01, *, momentum: float = 0.0, nesterov: bool = False,
        clipnorm: float | None = None, clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1); got {momentum}.")
        if nesterov and momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0; got momentum=0. Pass e.g. momentum=0.9.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _make(self, params):
        return torch.optim.SGD(params, lr=self.learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def _hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


def _fusable(params: list[torch.nn.Parameter]) -> bool | None:
    """True when torch's fused Adam takes these parameters: all floating point, all on the CPU or all on CUDA."""
    kinds = {p.device.type for p in params}
    if not params or len(kinds) != 1 or kinds - {"cpu", "cuda"} or not all(p.is_floating_point() for p in params):
        return None
    return True


class Adam(Optimizer):
    """``torch.optim.Adam``; Keras defaults ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``."""

    name = "adam"

    def __init__(
        self, learning_rate: float = 0.001, *, beta_1: float = 0.9, beta_2: float = 0.999,
        epsilon: float = 1e-7, amsgrad: bool = False,
        clipnorm: float | None = None, clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), bool(amsgrad)

    def _make(self, params):
        # fused: one kernel for all parameters instead of a Python loop over them (the loop costs ~40 us per tensor,
        # a tenth of a small model's training step; bench/README.md "Several processes"); same update, to rounding
        return torch.optim.Adam(
            params, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon, amsgrad=self.amsgrad,
            fused=_fusable(params),
        )

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class Adamax(Optimizer):
    """``torch.optim.Adamax``; Keras defaults ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``."""

    name = "adamax"

    def __init__(
        self, learning_rate: float = 0.001, *, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
        clipnorm: float | None = None, clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _make(self, params):
        return torch.optim.Adamax(params, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon)

    def _hyperparameters(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``; Keras defaults ``learning_rate=0.001, rho=0.9, epsilon=1e-7``."""

    name = "rmsprop"

    def __init__(
        self, learning_rate: float = 0.001, *, rho: float = 0.9, momentum: float = 0.0,
        epsilon: float = 1e-7, centered: bool = False,
        clipnorm: float | None = None, clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), bool(centered)

    def _make(self, params):
        return torch.optim.RMSprop(
            params, lr=self.learning_rate, alpha=self.rho, eps=self.epsilon, momentum=self.momentum, centered=self.centered
        )

    def _hyperparameters(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``; Keras defaults ``learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7``."""

    name = "adagrad"

    def __init__(
        self, learning_rate: float = 0.001, *, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
        clipnorm: float | None = None, clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def _make(self, params):
        return torch.optim.Adagrad(
            params, lr=self.learning_rate, initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon
        )

    def _hyperparameters(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


class HessianFree(Optimizer):
    """Hessian-free optimization (:class:`rnnkit.training.hessian_free.HessianFree`) as a compile optimizer.

        model.compile(optimizer="hessian_free", loss="mse")          # or HessianFree(damping=1.0, ...)

    The options are those of ``HessianFreeConfig`` plus ``curvature_fraction``: the curvature (Gauss–Newton)
    products use every k-th example of each batch, k = round(1 / curvature_fraction), starting at row
    steps mod k. HF has no learning rate and clips nothing (damping and the line search size the step), so
    ``learning_rate``, ``clipnorm`` and ``clipvalue`` are refused. The update is driven by the train step
    (``rnnkit.training.hessian_free_step.hessian_free_train_step``: one update per ``fit`` batch, so give it
    large batches, e.g. ``batch_size=1000``), which needs the forward and the per-example loss, so
    ``step()`` / ``zero_grad()`` raise.
    """

    name = "hessian_free"

    def __init__(self, *, curvature_fraction: float = 0.25, learning_rate: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, **options: Any) -> None:
        given = [k for k, v in (("learning_rate", learning_rate), ("clipnorm", clipnorm), ("clipvalue", clipvalue))
                 if v is not None]
        if given:
            raise ValueError(
                f"HessianFree: {given} do not apply to Hessian-free optimization: the step comes from "
                "conjugate gradient on the damped Gauss–Newton model, its size from Levenberg–Marquardt damping and "
                "a line search; got " + ", ".join(f"{k}={v!r}" for k, v in (("learning_rate", learning_rate),
                                                                           ("clipnorm", clipnorm),
                                                                           ("clipvalue", clipvalue)) if v is not None)
                + ". Remove them; to take smaller steps raise the initial damping, e.g. "
                "compile(optimizer=HessianFree(damping=10.0), ...)."
            )
        from rnnkit.training.hessian_free import HessianFreeConfig

        super().__init__(1.0)                                 # a placeholder: HF has no learning rate
        if isinstance(curvature_fraction, bool) or not isinstance(curvature_fraction, (int, float)):
            raise TypeError(f"HessianFree: curvature_fraction must be a number; got "
                            f"{type(curvature_fraction).__name__} {curvature_fraction!r}.")
        if not 0.0 < curvature_fraction <= 1.0:
            raise ValueError(f"HessianFree: curvature_fraction must be in (0, 1]; got {curvature_fraction}. "
                             "Pass e.g. 0.25 (a quarter of each batch) or 1.0 (all of it).")
        names = {f.name for f in fields(HessianFreeConfig)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"HessianFree: unknown argument(s) {unknown}; expected some of "
                            f"{sorted(names | {'curvature_fraction'})}.")
        self.curvature_fraction = float(curvature_fraction)
        self.config = HessianFreeConfig(**options)            # checks every option now, not at build
        self.hf: Any = None                                   # rnnkit.training.hessian_free.HessianFree, made by build()

    @property
    def curvature_stride(self) -> int:
        """k: the curvature batch is rows arange(steps mod k, B, k)."""
        return max(1, round(1.0 / self.curvature_fraction))

    def _make(self, params):  # pragma: no cover - build is overridden
        raise NotImplementedError

    @property
    def built(self) -> bool:
        return self.hf is not None

    def build(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Create the ``rnnkit.training.hessian_free.HessianFree`` optimizer over ``params`` (trainable ones only)."""
        from rnnkit.training.hessian_free import HessianFree as Core

        params = [p for p in params if p.requires_grad]
        if self.hf is not None:
            if len(params) != len(self._params) or any(a is not b for a, b in zip(params, self._params)):
                raise ValueError("HessianFree is already built for another model's parameters; "
                                 "create a new optimizer for each model.")
            return
        if not params:
            raise ValueError("HessianFree: the model has no trainable parameters to optimize.")
        self._params = params
        self.hf = Core(params, **asdict(self.config))
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    @property
    def torch_optimizer(self) -> torch.optim.Optimizer:
        raise TypeError("HessianFree has no torch.optim optimizer; its rnnkit.training.hessian_free.HessianFree is .hf.")

    @property
    def learning_rate(self) -> float:
        raise TypeError("HessianFree has no learning rate (damping and a line search size its steps), so "
                        "callbacks that read or change it (ReduceLROnPlateau, LearningRateScheduler) do not apply; "
                        "remove them, or use another optimizer.")

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        type(self).learning_rate.fget(self)

    def _driven(self, what: str) -> TypeError:
        return TypeError(f"HessianFree.{what}() is not available: Hessian-free optimization needs the "
                         "model's forward and per-example loss, so the train step drives it (fit does this; in a "
                         "custom train_step call rnnkit.training.hessian_free_step.hessian_free_train_step(model, batch)).")

    def zero_grad(self) -> None:
        raise self._driven("zero_grad")

    def step(self) -> None:
        raise self._driven("step")

    def clip_gradients(self) -> torch.Tensor:
        raise self._driven("clip_gradients")

    # --- serialisation: torch.optim's layout, so saving and BackupAndRestore store it unchanged --------
    def get_config(self) -> dict[str, Any]:
        return {"curvature_fraction": self.curvature_fraction, **asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def state_dict(self) -> dict:
        """``{"state": {0: {"damping", "steps", "previous"}}, "param_groups": [{"params": [0]}]}`` (previous,
        the last CG solution, left out while there is none)."""
        if self.hf is None:
            return self._pending_state or {}
        hf = self.hf.state_dict()
        entry = {"damping": float(hf["damping"]), "steps": int(hf["steps"])}
        if hf["previous"] is not None:
            entry["previous"] = hf["previous"]
        return {"state": {0: entry}, "param_groups": [{"params": [0]}]}

    def load_state_dict(self, state: dict) -> None:
        if self.hf is None:
            self._pending_state = state
            return
        entries = state.get("state") if isinstance(state, dict) else None
        entry = entries.get(0, entries.get("0")) if isinstance(entries, dict) else None
        if not isinstance(entry, dict) or "damping" not in entry or "steps" not in entry:
            raise ValueError("HessianFree.load_state_dict: expected {'state': {0: {'damping': ..., "
                             f"'steps': ...}}}}, ...}} as state_dict() gives; got {str(state)[:200]}.")
        previous = entry.get("previous")
        if isinstance(previous, torch.Tensor):
            previous = previous.to(self._params[0])
        self.hf.load_state_dict({"damping": entry["damping"], "steps": entry["steps"], "previous": previous})

    def __repr__(self) -> str:
        return f"HessianFree(curvature_fraction={self.curvature_fraction:g}, damping={self.config.damping:g})"


_BY_NAME: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adam, Adamax, RMSprop, Adagrad, HessianFree)
}


def get(identifier: str | Optimizer, **overrides: Any) -> Optimizer:
    """An :class:`Optimizer` from a name (``"adam"``, ``"sgd"``, …) with Keras defaults, or the instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"optimizer: unknown name {identifier!r}; expected one of {sorted(_BY_NAME)}.")
        return cls(**overrides)
    if isinstance(identifier, torch.optim.Optimizer):
        raise TypeError(
            "optimizer: pass a rnnkit optimizer or its name, not a torch.optim instance "
            "(rnnkit builds the torch optimizer once the weights exist), e.g. optimizer=Adam(learning_rate=1e-3)."
        )
    raise TypeError(f"optimizer must be a name or a rnnkit.optimizers.Optimizer; got {type(identifier).__name__}.")


def by_name(name: str) -> type[Optimizer]:
    """The optimizer class registered under ``name`` (for loading saved models)."""
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"optimizer: unknown name {name!r}; expected one of {sorted(_BY_NAME)}.")
    return cls
