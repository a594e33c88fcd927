"""A ``torch.optim`` state dict split into tensors (for safetensors) and plain values (for JSON).

``{"state": {i: {"step": t, "exp_avg": t, ...}}, "param_groups": [...]}`` becomes tensors named
``optimizer/<i>/<key>`` plus JSON ``{"state": {i: {non-tensor values}}, "param_groups": [...]}``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["split_state", "join_state", "PREFIX"]

PREFIX = "optimizer/"


def split_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for index, values in state_dict.get("state", {}).items():
        plain: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{PREFIX}{int(index)}/{key}"] = value.detach().cpu().contiguous().clone()
            else:
                plain[key] = _json_value(value, f"optimizer state {index}/{key}")
        plain_state[str(int(index))] = plain
    groups = [{k: _json_value(v, f"param_groups/{k}") for k, v in group.items()} for group in state_dict.get("param_groups", [])]
    return tensors, {"state": plain_state, "param_groups": groups}


def join_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict:
    """The inverse of :func:`split_state`; raises ValueError on a malformed description."""
    if not isinstance(plain, dict) or not isinstance(plain.get("state"), dict) or not isinstance(plain.get("param_groups"), list):
        raise ValueError("optimizer state must be {'state': {...}, 'param_groups': [...]}")
    state: dict[int, dict[str, Any]] = {}
    for index, values in plain["state"].items():
        if not str(index).isdigit() or not isinstance(values, dict):
            raise ValueError(f"bad optimizer state entry {index!r}")
        state[int(index)] = dict(values)
    for name, tensor in tensors.items():
        index, _, key = name[len(PREFIX):].partition("/")
        if not index.isdigit() or not key:
            raise ValueError(f"bad optimizer tensor name {name!r}")
        state.setdefault(int(index), {})[key] = tensor
    groups = []
    for group in plain["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise ValueError("each optimizer param group must be a dict with a 'params' list")
        # JSON turned tuples such as Adam's betas into lists; torch expects tuples back
        groups.append({k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in group.items()})
    return {"state": state, "param_groups": groups}


def _json_value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot save {where}: non-finite value {value}")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, where) for v in value]
    raise TypeError(f"cannot save {where}: value of type {type(value).__name__} is neither a tensor nor JSON")
