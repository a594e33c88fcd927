"""Pipelines on real sequences, one subpackage per application (`forecast/`, `classify/`), each saved
as a run folder (`runs.py`, shared by all).

    >>> from rnnkit.tasks import ForecastConfig, train_forecaster, save_forecast_run
    >>> result = train_forecaster(ForecastConfig(data="seattle_weather"))
    >>> result.metrics["test"]          # model, naive and seasonal-naive: MAE, RMSE, sMAPE, MASE
    >>> folder = save_forecast_run(result, "runs")
"""

from rnnkit.tasks.classify import (
    ClassifyConfig,
    ClassifyResult,
    classification_report,
    evaluate_classify_run,
    predict_classify_run,
    save_classify_run,
    train_classifier,
)
from rnnkit.tasks.config import ConfigError, config_from_dict, read_config
from rnnkit.tasks.forecast import (
    ForecastConfig,
    ForecastProblem,
    ForecastResult,
    evaluate_forecast_run,
    forecast_metrics,
    predict_forecast_run,
    prepare_forecast,
    save_forecast_run,
    train_forecaster,
)
from rnnkit.tasks.runs import RunFolder, open_run

__all__ = [
    "ClassifyConfig",
    "ClassifyResult",
    "ConfigError",
    "ForecastConfig",
    "ForecastProblem",
    "ForecastResult",
    "RunFolder",
    "classification_report",
    "config_from_dict",
    "evaluate_classify_run",
    "evaluate_forecast_run",
    "forecast_metrics",
    "open_run",
    "predict_classify_run",
    "predict_forecast_run",
    "prepare_forecast",
    "read_config",
    "save_classify_run",
    "save_forecast_run",
    "train_classifier",
    "train_forecaster",
]
