"""A reader for the `.ts` files of the UEA/UCR archive (as shipped inside aeon and sktime, or a user's own).

Reading the file ourselves, rather than through the provider's loader, keeps loading fast (aeon's
import pulls numba) and gives the same arrays with either provider installed.

Format: header lines start with `@` (`@problemName GunPoint`, `@classLabel true 1 2`, `@data`);
comments start with `#` (or `%`, as in ARFF). Each line after `@data` is one case: its channels
separated by `:`, the values of a channel by `,`, and the class label last. With
`@timeStamps true` each value is written `(timestamp,value)`; the values are kept in the order
written and the timestamps dropped (as aeon's loader does). A missing value is `?` or `NaN`:
trailing ones (how variable-length cases are padded to equal length) are cut off, and the others
are an error unless `fill` says how to fill them. A regression file (`@targetLabel true`) is an
error: its targets are numbers, not classes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rnnkit.data._errors import DataError

__all__ = ["read_ts_file"]

_FILLS = ("none", "ffill", "interpolate")


def read_ts_file(path: str | Path, *, fill: str = "none",
                 ) -> tuple[list[np.ndarray], list[str] | None, tuple[str, ...]]:
    """Read a `.ts` file into (sequences, labels, class_names).

    sequences:   a list of float32 arrays of shape (T_i, C) (time first, channels last).
    labels:      the raw label string of each case; None for an unlabelled file (`@classLabel false`).
    class_names: the labels declared by `@classLabel`, in their declared order (else sorted).
    fill:        "none" (a missing value inside a case is an error), "ffill" (carry the last value
                 forward, the first one back) or "interpolate" (linear, ends held).
    """
    path = Path(path)
    if fill not in _FILLS:
        raise DataError(f"fill for a .ts file must be one of {', '.join(_FILLS)}; got {fill!r}")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist; give a path to a .ts, .csv or .parquet "
                        f"file, or a bundled dataset name (see `rnnkit datasets`)")
    sequences: list[np.ndarray] = []
    labels: list[str] = []
    header = {"classlabel": None, "timestamps": False}
    declared: tuple[str, ...] = ()
    in_data = False
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not a UTF-8 text file ({exc.reason}); expected a .ts file") from None
    for line_number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        where = f"{path.name}, line {line_number}"
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{where}: expected a header line (@...) or @data before the cases; "
                                f"got {line[:40]!r}")
            in_data, declared = _read_header(line, header, declared, where)
            continue
        fields = _split_channels(line) if header["timestamps"] else line.split(":")
        if header["classlabel"] is not False:  # no @classLabel: labelled, as aeon assumes
            if len(fields) < 2:
                raise DataError(f"{where}: expected channels then a class label separated by ':'; "
                                f"got no ':' in {line[:40]!r}")
            *fields, label = fields
            label = label.strip()
            if declared and label not in declared:
                raise DataError(f"{where}: class label {label!r} is not declared in @classLabel "
                                f"({' '.join(declared)}); add it there or fix the case")
            labels.append(label)
        sequence = _read_case(fields, where, timestamps=header["timestamps"])
        if sequences and sequence.shape[1] != sequences[0].shape[1]:
            raise DataError(f"{where}: {sequence.shape[1]} channel(s); the first case has "
                            f"{sequences[0].shape[1]}. Every case needs the same channels")
        sequences.append(_fill_missing(sequence, fill, where))
    if not in_data:
        raise DataError(f"{path.name}: no @data line; a .ts file lists its cases after @data")
    if not sequences:
        raise DataError(f"{path.name}: no cases found after @data")
    if header["classlabel"] is False:
        return sequences, None, ()
    return sequences, labels, declared or tuple(sorted(set(labels)))


def _read_header(line: str, header: dict, declared: tuple[str, ...], where: str) -> tuple[bool, tuple[str, ...]]:
    """Apply one `@` line; returns (whether it was @data, the declared class labels)."""
    parts = line.split()
    key, values = parts[0].lower(), parts[1:]
    if key == "@data":
        return True, declared
    if key == "@targetlabel" and values and values[0].lower() == "true":
        raise DataError(f"{where}: @targetLabel true marks a regression problem (numeric targets); "
                        f"rnnkit classify needs class labels (@classLabel true ...)")
    if key == "@timestamps":
        header["timestamps"] = bool(values) and values[0].lower() == "true"
    elif key == "@classlabel":
        flag = values[0].lower() if values else ""
        if flag not in ("true", "false"):
            raise DataError(f"{where}: @classLabel must be followed by true or false; got {' '.join(values)!r}")
        if flag == "true" and len(values) < 2:
            raise DataError(f"{where}: @classLabel true must list the class labels, e.g. `@classLabel true 1 2`")
        header["classlabel"] = flag == "true"
        declared = tuple(values[1:])
    return False, declared  # other tags (@problemName, @univariate, @equalLength, ...) describe the data


def _split_channels(line: str) -> list[str]:
    """Split at ':' outside parentheses: timestamps such as `(2007-01-01 00:01:00,3.2)` hold ':'."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(line):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ":" and depth == 0:
            fields.append(line[start:i])
            start = i + 1
    fields.append(line[start:])
    return fields


def _read_case(fields: list[str], where: str, *, timestamps: bool) -> np.ndarray:
    """One case's channels -> (T, C) float32, NaN where a value is missing."""
    columns = []
    for channel, text in enumerate(fields):
        if timestamps:  # "(t0,v0),(t1,v1)": the value is what follows the last comma of each pair
            tokens = [pair.rsplit(",", 1)[-1] for pair in re.findall(r"\(([^()]*)\)", text)]
        else:
            tokens = text.split(",")
        tokens = [t.strip() for t in tokens]
        tokens = ["nan" if t == "?" else t for t in tokens]
        try:
            columns.append(np.asarray(tokens, dtype=np.float32))
        except ValueError:
            bad = next(t for t in tokens if not _is_number(t))
            raise DataError(f"{where}, channel {channel}: {bad!r} is not a number; values are separated by "
                            f"',' and channels by ':' (missing values are written '?' or NaN)") from None
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise DataError(f"{where}: channels have different lengths ({', '.join(str(len(c)) for c in columns)}); "
                        f"every channel of a case needs one value per time step")
    return np.stack(columns, axis=1)  # (T, C)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _fill_missing(sequence: np.ndarray, fill: str, where: str) -> np.ndarray:
    """Cut trailing all-missing steps (padding); fill or reject the missing values left."""
    present = ~np.isnan(sequence)  # (T, C)
    steps = np.flatnonzero(present.any(axis=1))
    if steps.size == 0:
        raise DataError(f"{where}: every value of this case is missing")
    sequence = sequence[: steps[-1] + 1]
    missing = np.isnan(sequence)
    if not missing.any():
        return sequence
    if fill == "none":
        t, c = np.argwhere(missing)[0]
        raise DataError(f"{where}: {int(missing.sum())} missing value(s) inside the case (first at step {t}, "
                        f"channel {c}); pass --fill ffill or --fill interpolate, or fill them in the file")
    out = sequence.copy()
    for c in range(out.shape[1]):
        column, known = out[:, c], ~missing[:, c]
        if not known.any():
            raise DataError(f"{where}: channel {c} has no values; it cannot be filled")
        steps = np.arange(len(column))
        if fill == "interpolate":
            column[~known] = np.interp(steps[~known], steps[known], column[known])
        else:  # ffill: index of the last known step at or before each step; before the first, the first
            last = np.maximum.accumulate(np.where(known, steps, -1))
            column[:] = column[np.where(last < 0, steps[known][0], last)]
    return out
