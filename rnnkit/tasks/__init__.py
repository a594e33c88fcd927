"""Pipelines on real sequences: forecasting and sequence classification, each with run folders."""

from rnnkit.tasks.config import ClassifyConfig, ConfigError, ForecastConfig
from rnnkit.tasks.forecasting import ForecastResult, prepare_forecast, train_forecaster

__all__ = ["ConfigError", "ForecastConfig", "ClassifyConfig", "ForecastResult", "prepare_forecast",
           "train_forecaster"]
