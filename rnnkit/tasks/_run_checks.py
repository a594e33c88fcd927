"""Checks that a finished run folder still fits together: run.json, config.toml and the model file.

A hand-edited (or damaged) file must fail loudly instead of scoring a model with the wrong inputs: a
config.toml whose lookback disagrees with the model, a run.json whose scaler has fewer values than the
model has input columns, class names that do not match the model's outputs. Each check names the file,
the key, what was expected and what was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data import DataError

__all__ = ["check_model_fits_run", "check_run_state"]


def _fail(folder: Path, file: str, message: str) -> DataError:
    return DataError(f"{folder / file}: {message}; the run folder looks edited or damaged: restore the file, or "
                     f"train again (`rnnkit train --config {folder / 'config.toml'}`)")


def _names(folder: Path, state: dict, key: str, *, at_least: int = 1) -> list[str]:
    value = state.get(key)
    if not isinstance(value, list) or len(value) < at_least or not all(isinstance(v, str) for v in value):
        raise _fail(folder, "run.json", f"{key!r} must be a list of at least {at_least} names; got {value!r:.80}")
    if len(set(value)) != len(value):
        raise _fail(folder, "run.json", f"{key!r} repeats a name: {value!r:.80}")
    return value


def _scaler(folder: Path, state: dict, width: int, what: str) -> None:
    scaler = state.get("scaler")
    if not isinstance(scaler, dict):
        raise _fail(folder, "run.json", f"'scaler' must be an object with mean and std; got {scaler!r:.80}")
    for part in ("mean", "std"):
        values = scaler.get(part)
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise _fail(folder, "run.json", f"scaler {part!r} must be a list of numbers; got {values!r:.80}")
        if len(values) != width:
            raise _fail(folder, "run.json", f"scaler {part!r} has {len(values)} values but {what} has {width}")
    if any(v <= 0 for v in scaler["std"]):
        raise _fail(folder, "run.json", "scaler 'std' must be > 0 for every column")


def check_run_state(folder: Path, task: str, state: dict[str, Any], config: Any) -> None:
    """run.json against itself and against config.toml (a finished run)."""
    if task == "forecast":
        columns = _names(folder, state, "input_columns")
        _scaler(folder, state, len(columns), f"'input_columns' ({', '.join(columns)})")
        if state.get("target") != columns[0]:
            raise _fail(folder, "run.json", f"'target' is {state.get('target')!r} but the first input column is "
                                            f"{columns[0]!r} (the model reads the target first)")
        for key in ("lookback", "horizon"):
            saved = state.get(key)
            if isinstance(saved, bool) or not isinstance(saved, int) or saved < 1:
                raise _fail(folder, "run.json", f"{key!r} must be an int >= 1; got {saved!r}")
            if getattr(config, key) != saved:
                raise _fail(folder, "config.toml", f"{key} = {getattr(config, key)} but the model was trained with "
                                                   f"{key} = {saved} (run.json); a trained model's {key} cannot change")
        season = state.get("season")
        if season is not None and (isinstance(season, bool) or not isinstance(season, int) or season < 1):
            raise _fail(folder, "run.json", f"'season' must be an int >= 1 or null; got {season!r}")
    elif task == "classify":
        classes = _names(folder, state, "class_names", at_least=2)
        channels = _names(folder, state, "channel_names")
        _scaler(folder, state, len(channels), f"'channel_names' ({len(channels)} channels)")
        del classes
    elif task == "lm":
        if state.get("tokenizer") != config.tokenizer:
            raise _fail(folder, "run.json", f"'tokenizer' is {state.get('tokenizer')!r} but config.toml says "
                                            f"tokenizer = {config.tokenizer!r}")
        vocab = state.get("vocab_size")
        if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 5:
            raise _fail(folder, "run.json", f"'vocab_size' must be an int >= 5 (4 special tokens and text); "
                                            f"got {vocab!r}")
    elif task == "text":
        _names(folder, state, "class_names", at_least=2)
        for key in ("text_column", "label_column"):
            if not isinstance(state.get(key), str):
                raise _fail(folder, "run.json", f"{key!r} must be a column name; got {state.get(key)!r:.80}")
        vocab = state.get("vocabulary_size")
        if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 3:
            raise _fail(folder, "run.json", f"'vocabulary_size' must be an int >= 3; got {vocab!r}")
    elif task == "translate":
        for key in ("source_vocab_size", "target_vocab_size"):
            vocab = state.get(key)
            if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 260:
                raise _fail(folder, "run.json", f"{key!r} must be an int >= 260 (specials and bytes); got {vocab!r}")


def check_model_fits_run(folder: Path, task: str, state: dict[str, Any], model: Any) -> None:
    """The model file against run.json: input width and length, output width."""
    shape = getattr(model, "built_input_shape", None)
    last = model.layers[-1] if getattr(model, "layers", None) else None
    units = getattr(last, "units", None)
    if task == "forecast":
        width, lookback, horizon = len(state["input_columns"]), state["lookback"], state["horizon"]
        if shape is not None and (shape[-1] != width or (shape[0] is not None and shape[0] != lookback)):
            raise _fail(folder, "run.json", f"the model reads windows of shape {tuple(shape)} but run.json describes "
                                            f"({lookback}, {width}) (lookback, input columns)")
        if units is not None and units != horizon:
            raise _fail(folder, "run.json", f"the model forecasts {units} steps but run.json says horizon {horizon}")
    elif task == "classify":
        width, classes = len(state["channel_names"]), len(state["class_names"])
        if shape is not None and shape[-1] != width:
            raise _fail(folder, "run.json", f"the model reads {shape[-1]} channels but run.json names {width}")
        if units is not None and units != classes:
            raise _fail(folder, "run.json", f"the model has {units} class outputs but run.json names {classes} classes")
    elif task == "lm":
        tokenizer = getattr(model, "tokenizer", None)
        if getattr(model, "vocab_size", None) != state["vocab_size"]:
            raise _fail(folder, "run.json", f"the model has {getattr(model, 'vocab_size', None)} token outputs but "
                                            f"run.json says vocab_size {state['vocab_size']}")
        if tokenizer is None or tokenizer.kind != state["tokenizer"] or tokenizer.vocab_size != state["vocab_size"]:
            raise _fail(folder, "model.rnnkit", f"the model's tokenizer ({tokenizer!r}) is not the {state['tokenizer']} "
                                                f"tokenizer of {state['vocab_size']} ids that run.json describes")
    elif task == "translate":
        for key, side in (("source_vocab_size", "source_tokenizer"), ("target_vocab_size", "target_tokenizer")):
            tokenizer = getattr(model, side, None)
            if tokenizer is None or tokenizer.vocab_size != state[key]:
                raise _fail(folder, "run.json", f"{key!r} is {state[key]} but the model's {side} has "
                                                f"{getattr(tokenizer, 'vocab_size', None)} ids")
    elif task == "text":
        first = model.layers[0] if getattr(model, "layers", None) else None
        if not callable(getattr(first, "vectorize", None)):
            raise _fail(folder, "model.rnnkit", f"a text model starts with TextVectorization (it reads raw text); this "
                                                f"one starts with {type(first).__name__}")
        if first.vocabulary_size() != state["vocabulary_size"]:
            raise _fail(folder, "run.json", f"'vocabulary_size' is {state['vocabulary_size']} but the model's "
                                            f"vocabulary has {first.vocabulary_size()} entries")
        if units is not None and units != len(state["class_names"]):
            raise _fail(folder, "run.json", f"the model has {units} class outputs but run.json names "
                                            f"{len(state['class_names'])} classes")
