"""``to_onnx``: an rnnkit recurrent layer or Keras-style model as an ONNX file, checked with onnxruntime.

The graph comes from ``torch.onnx.export(..., dynamo=True)`` (torch.export, then onnxscript). While it is
traced, every ``rnnkit.nn`` recurrent layer runs its reference step as one scan (``rnnkit.cells.scan``), so
the file holds an ONNX ``Scan`` loop with symbolic batch B and time T instead of T unrolled copies; the
hand-derived kernels, opaque to tracing, are not involved. Variable lengths are a graph input: the scan
masks each sequence past its length (state held, output zero), the same as ``lengths=`` in eager mode,
so no PackedSequence reaches the exporter (its export is broken upstream, pytorch#62240).

Graph inputs: ``x`` (B, T, I) — (T, B, I) for a layer built with batch_first=False — and, where the model
takes them, ``lengths`` (B,) int64 in [1, T]. Outputs: ``output``, ``h_n`` (and ``c_n``) for a layer; ``y``
(or ``y0, y1, ...``) for a model.

Needs the ``export`` extra: ``pip install "rnnkit[export]"`` (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.saving._atomic import atomic_write

__all__ = ["to_onnx", "OnnxExport", "check_onnx"]

# float32 agreement asked of onnxruntime vs eager: the scan runs the same float32 ops in another order,
# so outputs differ by a few ulps per step of a contracting recurrence (measured: ≤ 2e-7 at T ≤ 25, H ≤ 16).
TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class OnnxExport:
    """What ``to_onnx`` wrote: the file, its input and output names, and the check against eager mode:
    the largest |onnxruntime - torch| over the checked (B, T) shapes (None when not checked) and the bound
    it was held to (see ``check_onnx``)."""

    path: Path
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    checked_shapes: tuple[tuple[int, int], ...]
    max_abs_error: float | None
    bound: float | None = None


class _Graph(nn.Module):
    """What gets traced: (x[, lengths]) -> a flat tuple of tensors."""

    def __init__(self, model: nn.Module, *, layer: bool, with_lengths: bool) -> None:
        super().__init__()
        self.model, self.layer, self.with_lengths = model, layer, with_lengths

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, ...]:
        kwargs = {"lengths": lengths} if self.with_lengths else {}
        if self.layer:
            output, state = self.model(x, **kwargs)
            return (output, *(state if isinstance(state, tuple) else (state,)))
        out = self.model(x, **kwargs)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _require_packages() -> None:
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f"rnnkit.export.to_onnx needs {', '.join(missing)}; install the export extra: "
                          'pip install "rnnkit[export]"')


def _describe(model: nn.Module) -> tuple[bool, int | None, bool]:
    """(is a recurrent layer, the batch axis of x (0 or 1), whether it takes lengths)."""
    from rnnkit.models.model import Model, _takes_lengths
    from rnnkit.nn.recurrent import RecurrentLayer

    if isinstance(model, RecurrentLayer):
        return True, 0 if model.batch_first else 1, True
    if isinstance(model, Model):
        return False, 0, _takes_lengths(type(model).call)
    raise TypeError(f"to_onnx: model must be an rnnkit.nn recurrent layer (RNN, LSTM, GRU, LayerNormLSTM, "
                    f"LayerNormGRU) or an rnnkit Model/Sequential; got {type(model).__name__}. For another "
                    f"torch.nn.Module, wrap it: rnnkit.Model.wrap(module).")


def _check_exportable(model: nn.Module) -> None:
    from rnnkit.nn.recurrent import RecurrentLayer

    unsupported = [type(m).__name__ for m in model.modules()
                   if type(m).__name__ in ("ConvLSTM2D", "ConvGRU2D")]
    if unsupported:
        raise ValueError(f"to_onnx: {sorted(set(unsupported))} cannot be exported yet (their recurrence has no scan "
                         f"form); export models of RNN/LSTM/GRU and LayerNorm LSTM/GRU layers.")
    stateful = [getattr(m, "name", type(m).__name__) for m in model.modules()
                if m is not model and getattr(m, "stateful", False) is True]
    if stateful:
        raise ValueError(f"to_onnx: layers {stateful} are stateful=True (they carry state between calls, which an "
                         f"ONNX graph does not keep); rebuild the model with stateful=False and load its weights.")
    for m in model.modules():
        if isinstance(m, RecurrentLayer) and m.weight_ih_l0.dtype != torch.float32:
            raise TypeError(f"to_onnx: exports float32 models; {type(m).__name__} holds {m.weight_ih_l0.dtype}. "
                            f"Use model.float() first.")


def _example_for(model: nn.Module, is_layer: bool, batch_axis: int) -> Tensor:
    if is_layer:
        shape = (2, 5, model.input_size) if batch_axis == 0 else (5, 2, model.input_size)
        return torch.zeros(shape, dtype=model.weight_ih_l0.dtype)
    spec = getattr(model, "input_spec", None)
    built = getattr(model, "built_input_shape", None)          # Sequential: (T or None, ...) of its first layer
    if spec is None and built is not None:
        first = model.layers[0]
        tokens = type(first).__name__ == "Embedding"
        param = next(model.parameters())
        spec = {"shape": [5 if d is None else d for d in built], "dtype": "int64" if tokens else
                str(param.dtype).replace("torch.", "")}
    if not (isinstance(spec, dict) and "shape" in spec):
        raise ValueError(f"to_onnx: cannot tell the input of {type(model).__name__}: "
                         + ("it has not been built; call it once on a batch (or fit it) first, or pass example=."
                            if spec is None else "it takes several inputs; pass example= (one tensor input only)."))
    shape = spec["shape"]
    if len(shape) < 1:
        raise ValueError(f"to_onnx: expected a sequence model, input (B, T, ...); got input shape (B, {shape}).")
    dtype = getattr(torch, spec["dtype"])
    # random, not zeros: a zero batch is all padding to Masking and mask_zero embeddings
    return _random_like(torch.zeros((2, 5, *shape[1:]), dtype=dtype), 2, 5, 0, _token_high(model), low=1)


def _random_like(example: Tensor, B: int, T: int, batch_axis: int, high: int, low: int = 0) -> Tensor:
    shape = list(example.shape)
    shape[batch_axis], shape[1 - batch_axis] = B, T
    generator = torch.Generator().manual_seed(B * 1000 + T)
    if example.is_floating_point():
        return torch.randn(shape, generator=generator, dtype=example.dtype)
    return torch.randint(low, max(high, low + 1), shape, generator=generator, dtype=example.dtype)


def _token_high(model: nn.Module) -> int:
    sizes = [int(m.num_embeddings) for m in model.modules() if isinstance(m, nn.Embedding)]
    sizes += [int(m.input_dim) for m in model.modules() if isinstance(getattr(m, "input_dim", None), int)]
    return min(sizes) if sizes else 2


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter's known, harmless noise, each silenced by its exact message (pytest runs warnings as errors):

    - FutureWarning "`isinstance(treespec, LeafSpec)` is deprecated": raised inside torch's own pytree code
      while torch.export copies specs (torch 2.13); nothing of ours to change.
    - UserWarning "The axis name: B will not be used, since it shares the same shape constraints with another
      axis": x and lengths share the batch axis on purpose; the exporter keeps one name for both.
    - DeprecationWarning on ``torch.jit.script_method``: onnxscript's import touches the legacy TorchScript API.
    - its progress lines on stdout and "torchvision is not installed" log lines: kept unless the export fails.
    """
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.onnx._internal.exporter._registration")]
    levels = [lg.level for lg in loggers]
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                                category=FutureWarning)
        warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used, since it shares the same "
                                r"shape constraints", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script_method.*", category=DeprecationWarning)
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(out):
                yield
        except Exception:
            print(out.getvalue(), end="")
            raise
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def to_onnx(model: nn.Module, path: str | Path, *, example: Tensor | None = None, lengths: bool = True,
            opset: int = 18, check: bool = True, check_shapes: tuple[tuple[int, int], ...] = ((1, 3), (3, 11), (7, 29)),
            metadata: dict[str, str] | None = None) -> OnnxExport:
    """Write ``model`` to ``path`` as ONNX with dynamic batch and time axes; see the module docstring.

    example: one input batch to trace with (default: zeros from the layer's ``input_size`` or the model's
    recorded input spec). lengths: give the graph a ``lengths`` input where the model takes one (padded
    batches). check: run the file with onnxruntime at each (B, T) of ``check_shapes`` — unseen shapes,
    padded batches with random lengths — and raise if it differs from eager mode by more than 1e-5.
    metadata: extra key/value strings stored in the file (``metadata_props``). The model is traced in eval
    mode and left in the mode it had. Writes atomically.
    """
    _require_packages()
    is_layer, batch_axis, takes_lengths = _describe(model)
    _check_exportable(model)
    with_lengths = bool(lengths) and takes_lengths
    if example is None:
        example = _example_for(model, is_layer, batch_axis)
    if not isinstance(example, Tensor) or example.dim() < 2:
        raise ValueError(f"to_onnx: example must be a tensor batch (B, T, ...); got "
                         f"{type(example).__name__ if not isinstance(example, Tensor) else tuple(example.shape)}.")
    B_dim, T_dim = torch.export.Dim("B", min=1), torch.export.Dim("T", min=1)
    x_axes = {batch_axis: B_dim, 1 - batch_axis: T_dim}
    B, T = example.shape[batch_axis], example.shape[1 - batch_axis]
    args: tuple[Tensor, ...] = (example,)
    dynamic: tuple[dict, ...] = (x_axes,)
    if with_lengths:
        args += (torch.full((B,), T, dtype=torch.int64),)
        dynamic += ({0: B_dim},)
    graph = _Graph(model, layer=is_layer, with_lengths=with_lengths)
    names_in = ("x", "lengths")[: len(args)]
    was_training = model.training
    graph.eval()
    try:
        with torch.no_grad():
            eager_out = graph(*args)
        names_out = _output_names(is_layer, len(eager_out))
        try:
            with _quiet_exporter(), torch.no_grad():
                program = torch.onnx.export(graph, args, dynamic_shapes=dynamic, input_names=list(names_in),
                                            output_names=list(names_out), opset_version=opset, dynamo=True,
                                            verbose=False)
        except Exception as error:   # the exporter's report is pages long: keep its summary line, chain the rest
            raise RuntimeError(f"to_onnx: torch.onnx.export could not convert {type(model).__name__}: "
                               f"{_summary(error)}") from error
        proto = program.model_proto
        for key, value in {"producer": "rnnkit", **(metadata or {})}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = f"rnnkit.{key}", str(value)
        import onnx

        onnx.checker.check_model(proto)
        path = atomic_write(path, lambda temp: onnx.save_model(proto, temp))
        error = bound = None
        if check:
            error, bound = check_onnx(path, graph, example, batch_axis=batch_axis, with_lengths=with_lengths,
                               shapes=check_shapes, high=_token_high(model))
    finally:
        model.train(was_training)
    return OnnxExport(path=Path(path), inputs=names_in, outputs=names_out,
                      checked_shapes=tuple(check_shapes) if check else (), max_abs_error=error, bound=bound)


def _summary(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "## Exception summary" in lines:
        after = lines[lines.index("## Exception summary") + 1:]
        if after:
            return after[0]
    return lines[0] if lines else type(error).__name__


def _output_names(is_layer: bool, count: int) -> tuple[str, ...]:
    if is_layer:
        return ("output", "h_n", "c_n")[:count]
    return ("y",) if count == 1 else tuple(f"y{k}" for k in range(count))


def check_onnx(path: str | Path, graph: nn.Module, example: Tensor, *, batch_axis: int, with_lengths: bool,
               shapes: tuple[tuple[int, int], ...], high: int = 2, tolerance: float = TOLERANCE
               ) -> tuple[float, float]:
    """(largest |onnxruntime - eager|, its bound) over random inputs of each (B, T) in ``shapes`` (padded: random lengths
    in [1, T], the first sequence full); raises ValueError above the bound.

    The bound is ``tolerance + 2 ε₃₂``, ε₃₂ the largest error of eager float32 against the same model in
    float64 on the same inputs: two float32 evaluations of one function differ by at most the sum of their
    errors, and onnxruntime may be no less accurate than eager float32. For a well-conditioned recurrence
    ε₃₂ ≈ 1e-7 and the bound is ``tolerance``; an ill-conditioned one (layer norm over a nearly constant
    vector, long T) widens it by what float32 itself cannot resolve, not by what one run happened to give.
    """
    import copy

    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wide = copy.deepcopy(graph).double()
    worst, bound = 0.0, tolerance
    for B, T in shapes:
        x = _random_like(example, B, T, batch_axis, high)
        feeds = {"x": x.numpy()}
        args: tuple[Tensor, ...] = (x,)
        if with_lengths:
            lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(T))
            lengths[0] = T
            feeds["lengths"] = lengths.numpy()
            args += (lengths,)
        with torch.no_grad():
            expected = graph(*args)
            exact = wide(*(a.double() if a.is_floating_point() else a for a in args))
        got = session.run(None, feeds)
        for e, g, w in zip(expected, got, exact):
            if not e.numel():
                continue
            e64 = e.numpy().astype(np.float64)
            worst = max(worst, float(np.max(np.abs(e64 - g.astype(np.float64)))))
            if e.is_floating_point():
                bound = max(bound, tolerance + 2 * float(np.max(np.abs(e64 - w.numpy()))))
    if not worst <= bound:
        raise ValueError(f"to_onnx: onnxruntime's outputs differ from rnnkit's by {worst:.3g} (> {bound:.3g}) "
                         f"on shapes {list(shapes)}; the file {str(path)!r} was written but should not be trusted.")
    return worst, bound
