"""Forecasting: a series -> windows -> a recurrent model, always scored beside baselines; saved as a run folder.

    >>> from rnnkit.tasks.forecast import ForecastConfig, train_forecaster, save_forecast_run
    >>> result = train_forecaster(ForecastConfig(data="seattle_weather"))
    >>> folder = save_forecast_run(result, "runs")
"""

from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.metrics import forecast_metrics
from rnnkit.tasks.forecast.pipeline import (
    ForecastProblem,
    ForecastResult,
    prepare_forecast,
    train_forecaster,
)
from rnnkit.tasks.forecast.run import (
    evaluate_forecast_run,
    predict_forecast_run,
    save_forecast_run,
)

__all__ = [
    "ForecastConfig",
    "ForecastProblem",
    "ForecastResult",
    "evaluate_forecast_run",
    "forecast_metrics",
    "predict_forecast_run",
    "prepare_forecast",
    "save_forecast_run",
    "train_forecaster",
]
