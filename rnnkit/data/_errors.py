"""The one error type for bad user data: the CLI turns it into a one-line message and exit code 2."""

from __future__ import annotations

__all__ = ["DataError", "MissingProviderError", "install_command"]


class DataError(ValueError):
    """A user's data (file, column, values, sizes) cannot be used as asked.

    The message is one line: what is wrong, where, and how to fix it.
    """


def install_command(package: str) -> str:
    """How to install the package that ships a bundled dataset.

    aeon and sktime pin older numpy/pandas and pull numba; rnnkit only reads the `.ts` files they ship
    and never imports them, so they are installed without their dependencies (and are not in the
    `rnnkit[data]` extra, which would downgrade the environment).
    """
    if package in ("aeon", "sktime"):
        return f"pip install --no-deps {package}"
    return f"pip install {package}"


class MissingProviderError(DataError, ImportError):
    """A bundled dataset needs an optional package that is not installed."""

    def __init__(self, *, dataset: str, package: str) -> None:
        extra = "" if package in ("aeon", "sktime") else " (or `pip install 'rnnkit[data]'`)"
        why = (" (rnnkit reads the .ts files it ships and never imports it; --no-deps keeps its pins "
               "on numpy, pandas and numba out of your environment)") if package in ("aeon", "sktime") else ""
        super().__init__(
            f"dataset {dataset!r} ships inside the optional package {package!r}, which is not "
            f"installed; install it with `{install_command(package)}`{extra}{why}"
        )
        self.dataset = dataset
        self.package = package
