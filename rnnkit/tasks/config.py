"""The tasks and their config types: `TASKS` maps a task name to its config dataclass.

    >>> task, values = read_config("runs/<run>/config.toml")
    >>> config = config_from_dict(TASKS[task], values)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.tasks._config import (
    ConfigError,
    config_from_dict,
    config_to_dict,
    field_base_type,
    field_choices,
    read_config_file,
    write_config_toml,
)
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.lm.config import LMConfig
from rnnkit.tasks.speech.config import CTCConfig, SpeechConfig
from rnnkit.tasks.text.config import TextConfig
from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.video.config import VideoClassifyConfig
from rnnkit.tasks.video.predict_config import VideoPredictConfig
from rnnkit.tasks.lab.config import LabConfig
from rnnkit.tasks.video.track_config import TrackConfig

__all__ = [
    "TASKS",
    "CTCConfig",
    "ClassifyConfig",
    "ConfigError",
    "ForecastConfig",
    "LMConfig",
    "SpeechConfig",
    "TaskConfig",
    "TextConfig",
    "LabConfig",
    "TrackConfig",
    "TranslateConfig",
    "VideoClassifyConfig",
    "VideoPredictConfig",
    "config_from_dict",
    "config_to_dict",
    "field_base_type",
    "field_choices",
    "read_config",
    "write_config_toml",
]

TaskConfig = (ForecastConfig | ClassifyConfig | LMConfig | TextConfig | TranslateConfig | SpeechConfig | CTCConfig
              | VideoClassifyConfig | VideoPredictConfig | TrackConfig
              | LabConfig)
TASKS: dict[str, type] = {"forecast": ForecastConfig, "classify": ClassifyConfig, "lm": LMConfig, "text": TextConfig,
                     "translate": TranslateConfig, "speech": SpeechConfig,
                     "ctc": CTCConfig, "video-classify": VideoClassifyConfig, "video-predict": VideoPredictConfig,
                     "track": TrackConfig, "lab": LabConfig}


def read_config(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Read a TOML (or JSON) config file: returns (task, the remaining keys)."""
    return read_config_file(path, tuple(TASKS))
