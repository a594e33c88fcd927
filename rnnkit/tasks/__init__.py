"""Pipelines on real sequences: forecasting and sequence classification, each saved as a run folder.

    >>> from rnnkit.tasks import ForecastConfig, train_forecaster, save_forecast_run
    >>> result = train_forecaster(ForecastConfig(data="seattle_weather"))
    >>> result.metrics["test"]          # model, naive and seasonal-naive: MAE, RMSE, sMAPE, MASE
    >>> folder = save_forecast_run(result, "runs")
"""

from rnnkit.tasks.classification import (
    ClassifyResult,
    classification_report,
    train_classifier,
)
from rnnkit.tasks.classify_run import (
    evaluate_classify_run,
    predict_classify_run,
    save_classify_run,
)
from rnnkit.tasks.config import (
    ClassifyConfig,
    ConfigError,
    ForecastConfig,
    config_from_dict,
    read_config,
)
from rnnkit.tasks.forecast_run import (
    evaluate_forecast_run,
    predict_forecast_run,
    save_forecast_run,
)
from rnnkit.tasks.forecasting import (
    ForecastProblem,
    ForecastResult,
    prepare_forecast,
    train_forecaster,
)
from rnnkit.tasks.metrics import forecast_metrics
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
