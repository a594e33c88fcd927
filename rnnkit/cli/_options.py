"""argparse options built from the fields of the typed task configs (one source of truth)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Any, NoReturn

from rnnkit.tasks.config import TASKS, ConfigError, field_base_type, field_choices

__all__ = ["Parser", "add_config_options", "fields_by_task", "given_config_values"]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with code 2. Options are never
    abbreviated: with one option per config field, a prefix silently picks another option (`--output` read as
    `--output-dropout`), and an option added later would change what an old command line means."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def fields_by_task() -> dict[str, dict[str, dataclasses.Field]]:
    return {task: {f.name: f for f in dataclasses.fields(cls)} for task, cls in TASKS.items()}


def _comment(cls: type, name: str) -> str:
    """The `# comment` written beside a field in the dataclass source, used as its help text."""
    import inspect

    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith(f"{name}:") and "#" in stripped:
            return stripped.split("#", 1)[1].strip()
    return ""


def _default_text(cls: type, name: str, default: Any) -> str:
    """A field's default as help shows it: the config's ``HELP_DEFAULTS[name]`` where a None default is
    resolved later (e.g. per optimizer), else its repr."""
    return getattr(cls, "HELP_DEFAULTS", {}).get(name, repr(default))


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One --option per config field of any task; help shows each task's default."""
    per_task = fields_by_task()
    names = list(dict.fromkeys(name for fields in per_task.values() for name in fields))
    group = parser.add_argument_group("run options (also the keys of a --config TOML file)")
    for name in names:
        owners = {task: fields[name] for task, fields in per_task.items() if name in fields}
        field = next(iter(owners.values()))
        cls = TASKS[next(iter(owners))]
        annotation = typing.get_type_hints(cls)[name]
        base, _ = field_base_type(annotation)
        defaults = "; ".join(f"{task}: {_default_text(TASKS[task], name, f.default)}" for task, f in owners.items())
        only = "" if len(owners) == len(TASKS) else f" [{'/'.join(owners)} only]"
        help_text = f"{_comment(cls, name)}{only} (default {defaults})".replace("%", "%%")  # argparse formats help
        flag = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": help_text}
        choices = field_choices(annotation)
        if choices is not None:  # every task's choices (--model gru, --model convlstm); the task's config checks its own
            choices = tuple(dict.fromkeys(c for task in owners for c in field_choices(
                typing.get_type_hints(TASKS[task])[name]) or ()))
            group.add_argument(flag, choices=choices, **kwargs)
        elif base is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif typing.get_origin(base) is tuple:
            group.add_argument(flag, type=str, metavar="COL[,COL...]", **kwargs)
        else:
            group.add_argument(flag, type=base, metavar=base.__name__.upper(), **kwargs)
        del field


def given_config_values(args: argparse.Namespace, task: str | None) -> dict[str, Any]:
    """The config options given on the command line; one that the task does not have is an error
    (`task=None`: all options given, of any task)."""
    per_task = fields_by_task()
    all_names = {name for fields in per_task.values() for name in fields}
    values = {name: value for name, value in vars(args).items() if name in all_names}
    if task is None:
        return values
    for name in values:
        if name not in per_task[task]:
            owner = next(t for t, fields in per_task.items() if name in fields)
            raise ConfigError(f"--{name.replace('_', '-')} is an option of --task {owner}, not of --task {task}")
    return values
