"""Defaults from the config file (loganalyze.config) applied to the command line: they
become the commands' defaults (click's default_map, so a flag still wins) and `--help`
names the file each came from."""

from __future__ import annotations

import os
from typing import Any

import typer

from ..config import Config, load_config

_META_KEY = "loganalyze.config"
DB_ENV = "LOGANALYZE_DB"
OPTION_KEYS = ("tz", "window", "dod")
"""Config keys that are the default of the command option of the same name."""
IN_MEMORY_OVER_PATHS = ("report", "charts", "check", "run")
"""Commands that work in memory when given log paths: the file's db is theirs only
without paths (see `config_db`), never the target of such a run."""


def apply_config(ctx: typer.Context, config: Config) -> None:
    """Make `config` the defaults of every subcommand of the group behind `ctx`."""
    from ..detectors import set_query_dirs

    ctx.meta[_META_KEY] = config
    set_query_dirs(config.query_dirs)
    db = config.get("db")
    db_origin = f"${DB_ENV}" if os.environ.get(DB_ENV) else config.origin if db else None
    default_map: dict[str, dict[str, Any]] = dict(ctx.default_map or {})
    commands = getattr(ctx.command, "commands", {})
    for name, command in commands.items():
        defaults = dict(default_map.get(name) or {})
        for param in command.params:
            if param.name in OPTION_KEYS and config.get(param.name) is not None:
                value = config.get(param.name)
                defaults.setdefault(param.name, str(value))
                _show_origin(param, str(value), config.origin)
            elif param.name == "db" and db_origin is not None:
                shown = os.environ.get(DB_ENV) or str(db)
                if db_origin == config.origin and name not in IN_MEMORY_OVER_PATHS:
                    # ingest, query, pull, serve: the file's db is their --db default
                    defaults.setdefault("db", shown)
                _show_origin(param, shown, db_origin)
            elif param.name == "param" and config.params:
                shown = _params_text(config, name)
                if shown:
                    _show_origin(param, shown, config.origin)
        if defaults:
            default_map[name] = defaults
    ctx.default_map = default_map


def config_db() -> Any:
    """The config file's db for a command given neither --db nor log paths; None when
    $LOGANALYZE_DB is set (it wins) or the file names none. Commands given log paths work
    in memory and never write into the team's database."""
    if os.environ.get(DB_ENV):
        return None
    return current_config().get("db")


def _params_text(config: Config, command: str) -> str:
    pairs = [
        f"{detector}.{key}={value}"
        for detector, values in config.params.items()
        for key, value in values.items()
    ]
    return ", ".join(pairs)


def _show_origin(param: Any, value: str, origin: str | None) -> None:
    param.show_default = f"{value}, from {origin}"


def current_config() -> Config:
    """The config the running command was started with (read afresh outside the CLI)."""
    try:  # typer vendors click from 0.29 on
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older typer with click installed
        from click import get_current_context

    ctx = get_current_context(silent=True)
    if ctx is not None:
        config = ctx.find_root().meta.get(_META_KEY)
        if config is not None:
            return config
    return load_config()


__all__ = ["apply_config", "config_db", "current_config"]
