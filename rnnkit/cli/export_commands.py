"""`rnnkit export RUN --onnx FILE`: a run's model as an ONNX file with dynamic batch and time axes, checked with
onnxruntime against the run's own model (rnnkit.export.to_onnx). The run's facts (run.json: scaler, columns,
classes, lookback) go into the file's metadata, so whoever serves it can prepare inputs as the run did."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rnnkit.cli.commands import _say
from rnnkit.data import DataError

__all__ = ["add_export_parser", "export"]


def add_export_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    command = sub.add_parser(
        "export", parents=[common], help="write a run's model as ONNX, checked with onnxruntime",
        description="Writes the run's model as ONNX: inputs x (B, T, features) and lengths (B,) int64, both axes "
                    "dynamic; variable lengths are masked inside the graph. The file is run in onnxruntime on "
                    "unseen batch sizes and lengths and compared with the run's model before this reports success. "
                    "x is what the model reads (scaled as the run scaled it: see the file's rnnkit.run metadata). "
                    'Needs `pip install "rnnkit[export]"`.')
    command.add_argument("run", help="a run folder written by `rnnkit train`")
    command.add_argument("--onnx", required=True, metavar="FILE", help="the ONNX file to write, e.g. model.onnx")
    command.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    command.set_defaults(handler=export)


def export(args: argparse.Namespace) -> int:
    from rnnkit.export.onnx import to_onnx
    from rnnkit.tasks.runs import open_run, run_facts

    if not args.onnx.endswith(".onnx"):
        raise DataError(f"--onnx expects a file name ending in .onnx; got {args.onnx!r}, e.g. --onnx model.onnx")
    run = open_run(args.run)
    model = run.model(quantized=False)   # an int8 run exports its dequantized weights, computed in float32
    facts = run_facts(run.state)
    metadata = {"task": run.task, "run": json.dumps(facts, sort_keys=True)}
    model, text = _without_vectorizer(model, metadata)
    try:
        result = to_onnx(model, args.onnx, opset=args.opset, metadata=metadata)
    except ImportError as error:
        raise DataError(str(error)) from None
    except (TypeError, ValueError, RuntimeError) as error:
        raise DataError(f"cannot export the {run.task} run {args.run!r}: {str(error).splitlines()[0]}") from None
    _say(args, f"wrote {result.path}  inputs {', '.join(result.inputs)} -> outputs {', '.join(result.outputs)}")
    if text:
        _say(args, "x: token ids (0 padding) of the run's TextVectorization; its settings and vocabulary (index = id) "
                   "are in the file's rnnkit.text_vectorization metadata")
    shapes = ", ".join(f"B{b} T{t}" for b, t in result.checked_shapes)
    _say(args, f"onnxruntime vs rnnkit on {shapes} (padded, random lengths): max |diff| {result.max_abs_error:.2e} "
               f"(bound {result.bound:.1e})")
    return 0


def _without_vectorizer(model: Any, metadata: dict[str, str]) -> tuple[Any, bool]:
    """A text run's model reads strings through its TextVectorization, which has no ONNX form: export the layers
    after it (same objects, same weights; ids (B, T) in) and store the vectorizer's config and vocabulary in the
    metadata so a server can map text to ids as the run does."""
    from rnnkit.layers import TextVectorization
    from rnnkit.models import Sequential

    layers = list(getattr(model, "layers", []))
    if not layers or not isinstance(layers[0], TextVectorization):
        return model, False
    vectorizer = layers[0]
    if vectorizer.tokenizer is not None:
        raise DataError("rnnkit export: this text run's vectorizer uses a subword tokenizer, which the file's "
                        "metadata cannot carry yet; export a run trained with the word vocabulary")
    metadata["text_vectorization"] = json.dumps({"config": vectorizer.get_config(),
                                                 "vocabulary": vectorizer.get_vocabulary()})
    return Sequential(layers[1:]), True
