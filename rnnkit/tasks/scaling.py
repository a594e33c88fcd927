"""Per-column standardisation fitted on the training rows only, stored as plain JSON numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Standardizer"]


@dataclass(frozen=True, kw_only=True)
class Standardizer:
    """z = (x - mean) / std per column; a constant column gets std 1 (so it maps to 0)."""

    mean: np.ndarray  # (I,)
    std: np.ndarray  # (I,)

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        """values: (N, I) training rows only: fitting on later rows would leak the future."""
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean=mean.astype(np.float64), std=std.astype(np.float64))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray, column: int | None = None) -> np.ndarray:
        """Undo the scaling of all columns, or of one `column` for a (N, H) block of that column."""
        if column is None:
            return values * self.std + self.mean
        return values * self.std[column] + self.mean[column]

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Standardizer:
        return cls(mean=np.asarray(data["mean"], dtype=np.float64), std=np.asarray(data["std"], dtype=np.float64))
