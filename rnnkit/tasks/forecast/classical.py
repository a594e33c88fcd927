"""Classical baselines, fitted on the training span only and applied to every window without refitting.

ridge (linear autoregression on the model's own window):
    (ŷ_{t+k} - y_t) / std_y = w_k · vec(x_{t-L+1..t}) + b_k,   w = argmin ||Y - Xw||² + λ||w||²
    x are the model's inputs (same lookback L, columns, scaling, relative/absolute choice); λ is picked
    from a grid by the validation span's squared error.

AR(p) + Fourier, statsmodels `AutoReg` (dynamic harmonic regression, Hyndman & Athanasopoulos, FPP3 §10.5):
    z_t = c + Σ_{i≤p} φ_i z_{t-i} + Σ_{k≤K} (a_k sin 2πkt/m + b_k cos 2πkt/m) + ε_t
    on the target itself (z = y), or on its differences (z_t = y_t - y_{t-1}) when the target has a
    unit root; m the season, t the time in steps. p ≤ lookback and K ≤ 3 are chosen by AIC on the
    training span. Each window's forecast runs the recursion from its own history (no refitting).

ETS is left out on purpose: with the long seasons here (365 days, 132 months) a seasonal ETS has
hundreds of seasonal states and statsmodels' fit becomes slow and unstable, and without a season
ETS is close to the naive forecast (measured 1.007 vs naive 1.004 on the demo split).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AutoRegFourier", "ClassicalBaselines", "RidgeWindow", "adf_pvalue", "fourier_terms", "step_numbers"]

RIDGE_PENALTIES = (0.1, 1.0, 10.0, 100.0, 1000.0)
MAX_HARMONICS = 3


def fourier_terms(t: np.ndarray, *, period: float | None, harmonics: int) -> np.ndarray:
    """(N, 2K): sin and cos of 2πkt/m for k = 1..K; (N, 0) without a period."""
    if not period or harmonics < 1:
        return np.zeros((len(t), 0))
    angles = 2.0 * np.pi * np.outer(t, np.arange(1, harmonics + 1)) / period  # (N, K)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def step_numbers(index: Any, frequency: Any) -> np.ndarray:
    """Time in steps, comparable between files: since 1970 for dates with a frequency, else row numbers."""
    import pandas as pd

    if isinstance(index, pd.DatetimeIndex) and frequency is not None:
        if frequency.step is not None:
            nanos = index.values.astype("datetime64[ns]").view(np.int64)
            return nanos / frequency.step.value
        months = (index.year.to_numpy() - 1970) * 12 + index.month.to_numpy() - 1
        return months / frequency.months
    return np.arange(len(index), dtype=np.float64)


def adf_pvalue(values: np.ndarray) -> float:
    """Augmented Dickey-Fuller p-value (constant, no trend) of a series; small: no unit root.

    The lag order is fixed by Schwert's rule, 12 (N/100)^(1/4): no lag search, so it takes milliseconds.
    """
    from statsmodels.tsa.stattools import adfuller

    y = np.asarray(values, dtype=np.float64)
    if np.std(y) < 1e-12:
        return 0.0  # constant: nothing wanders
    lags = min(int(12 * (len(y) / 100) ** 0.25), len(y) // 3)
    kwargs = {"result_object": True} if "result_object" in inspect.signature(adfuller).parameters else {}
    with warnings.catch_warnings():  # a noiseless (synthetic) series makes the ADF regression rank-deficient
        warnings.simplefilter("ignore")
        result = adfuller(y, maxlag=lags, autolag=None, regression="c", **kwargs)
    return float(result.pvalue if kwargs else result[1])


@dataclass(frozen=True, kw_only=True)
class RidgeWindow:
    """Ridge regression from the flattened input window to the scaled change of the target."""

    penalty: float
    weights: np.ndarray  # (L*I + 1, H), the last row is the intercept

    @classmethod
    def fit(cls, x_train: np.ndarray, y_train: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None,
            ) -> RidgeWindow:
        """x: (N, L, I) model inputs; y: (N, H) scaled changes. λ by validation MSE (10 without one)."""
        features = _flat(x_train)  # (N, F + 1)
        gram, moment = features.T @ features, features.T @ y_train.astype(np.float64)
        no_intercept_penalty = np.eye(len(gram))
        no_intercept_penalty[-1, -1] = 0.0
        fits = {lam: np.linalg.solve(gram + lam * no_intercept_penalty, moment) for lam in RIDGE_PENALTIES}
        if validation is None or len(validation[0]) == 0:
            return cls(penalty=10.0, weights=fits[10.0])
        x_val, y_val = _flat(validation[0]), validation[1]
        errors = {lam: float(np.mean((x_val @ w - y_val) ** 2)) for lam, w in fits.items()}
        best = min(errors, key=errors.get)
        return cls(penalty=best, weights=fits[best])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _flat(x) @ self.weights  # (N, H)

    def to_dict(self) -> dict[str, Any]:
        return {"penalty": self.penalty, "weights": self.weights.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RidgeWindow:
        return cls(penalty=float(data["penalty"]), weights=np.asarray(data["weights"], dtype=np.float64))


def _select_order(z: np.ndarray, t: np.ndarray, *, max_lags: int, max_harmonics: int,
                  period: float | None) -> tuple[int, int]:
    """(p, K) of least AIC = n log(RSS/n) + 2 (number of coefficients), all fitted on rows max_lags..N-1.

    One Gram matrix of [1, z_{t-1..t-P}, sin/cos 1..K] serves every candidate (no refit per order:
    the search costs one small matrix product instead of P·(K+1) least-squares fits).
    """
    n = len(z) - max_lags
    lagged = np.stack([z[max_lags - i : len(z) - i] for i in range(1, max_lags + 1)], axis=1)  # (n, P)
    fourier = fourier_terms(t[max_lags:], period=period, harmonics=max_harmonics)  # (n, 2K)
    design = np.concatenate([np.ones((n, 1)), lagged, fourier], axis=1)
    target = z[max_lags:]
    gram, moment, total = design.T @ design, design.T @ target, float(target @ target)
    best = (np.inf, 1, 0)
    for harmonics in range(max_harmonics + 1):
        seasonal = [1 + max_lags + k for k in range(harmonics)] + [1 + max_lags + max_harmonics + k
                                                                    for k in range(harmonics)]
        for lags in range(1, max_lags + 1):
            columns = [0, *range(1, lags + 1), *seasonal]
            g, m = gram[np.ix_(columns, columns)], moment[columns]
            try:
                coefficients = np.linalg.solve(g, m)
            except np.linalg.LinAlgError:
                continue
            rss = max(total - float(coefficients @ m), 1e-300)
            aic = n * np.log(rss / n) + 2 * len(columns)
            if aic < best[0]:
                best = (aic, lags, harmonics)
    return best[1], best[2]


def _flat(x: np.ndarray) -> np.ndarray:
    N = len(x)
    return np.concatenate([np.asarray(x, dtype=np.float64).reshape(N, -1), np.ones((N, 1))], axis=1)


@dataclass(frozen=True, kw_only=True)
class AutoRegFourier:
    """AR(p) with an intercept and K Fourier pairs of period m, on y or on Δy (statsmodels AutoReg)."""

    lags: int
    harmonics: int
    period: float | None
    difference: bool
    params: np.ndarray  # [c, φ_1..φ_p, a_1..a_K, b_1..b_K] in statsmodels' order (trend, lags, exog)

    @property
    def name(self) -> str:
        fourier = f" + Fourier(m={self.period:g}, K={self.harmonics})" if self.harmonics else ""
        return f"AR({self.lags}{', d=1' if self.difference else ''}){fourier}"

    @classmethod
    def fit(cls, y_train: np.ndarray, t_train: np.ndarray, *, max_lags: int, period: float | None,
            difference: bool) -> AutoRegFourier:
        """Pick p in 1..max_lags and K in 0..3 by AIC on one common sample, then fit by OLS (statsmodels)."""
        from statsmodels.tsa.ar_model import AutoReg

        z, t = (np.diff(y_train), t_train[1:]) if difference else (np.asarray(y_train, dtype=np.float64), t_train)
        max_lags = max(1, min(max_lags, len(z) // 4))
        max_harmonics = min(MAX_HARMONICS, int(period) // 2) if period and period >= 2 else 0
        lags, harmonics = _select_order(z, t, max_lags=max_lags, max_harmonics=max_harmonics, period=period)
        exog = fourier_terms(t, period=period, harmonics=harmonics) if harmonics else None
        params = AutoReg(z, lags=lags, trend="c", exog=exog).fit().params
        return cls(lags=lags, harmonics=harmonics, period=period, difference=difference,
                   params=np.asarray(params, dtype=np.float64))

    def forecast(self, y: np.ndarray, t: np.ndarray, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """(N, H) forecasts of y[o+1..o+H] from y[..o] for each origin o, parameters fixed.

        z_{o+h} = c + Σ_i φ_i z_{o+h-i} + β·f(t_{o+h}), with forecasts standing in for unknown z;
        with differencing, ŷ_{o+h} = y_o + Σ_{j≤h} ẑ_{o+j}.
        """
        p, K = self.lags, self.harmonics
        c, phi, beta = self.params[0], self.params[1 : 1 + p], self.params[1 + p :]  # (p,), (2K,)
        z = np.diff(y, prepend=np.nan) if self.difference else np.asarray(y, dtype=np.float64)
        history = z[origins[:, None] - np.arange(p)[None, :]]  # (N, p): z_o, z_{o-1}, ..., z_{o-p+1}
        future = np.empty((len(origins), horizon))
        for h in range(1, horizon + 1):
            seasonal = fourier_terms(t[origins + h], period=self.period, harmonics=K) @ beta if K else 0.0
            step = c + history @ phi + seasonal  # (N,)
            future[:, h - 1] = step
            history = np.concatenate([step[:, None], history[:, :-1]], axis=1)
        if self.difference:
            return y[origins][:, None] + np.cumsum(future, axis=1)
        return future

    def to_dict(self) -> dict[str, Any]:
        return {"lags": self.lags, "harmonics": self.harmonics, "period": self.period,
                "difference": self.difference, "params": self.params.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoRegFourier:
        return cls(lags=int(data["lags"]), harmonics=int(data["harmonics"]), period=data["period"],
                   difference=bool(data["difference"]), params=np.asarray(data["params"], dtype=np.float64))


@dataclass(frozen=True, kw_only=True)
class ClassicalBaselines:
    """The fitted classical baselines of a run (either may be missing: too little data, or an old run)."""

    ridge: RidgeWindow | None = None
    ar_fourier: AutoRegFourier | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ridge": self.ridge.to_dict() if self.ridge else None,
                "ar_fourier": self.ar_fourier.to_dict() if self.ar_fourier else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ClassicalBaselines | None:
        if not data:
            return None
        return cls(ridge=RidgeWindow.from_dict(data["ridge"]) if data.get("ridge") else None,
                   ar_fourier=AutoRegFourier.from_dict(data["ar_fourier"]) if data.get("ar_fourier") else None)
