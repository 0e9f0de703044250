"""A team's defaults: `loganalyze.toml` in the working directory, else the
`[tool.loganalyze]` table of its `pyproject.toml`.

```toml
db = "incident.duckdb"          # --db
tz = "Asia/Seoul"               # --tz
window = "30s"                  # --window
dod = "eventlive.dod.toml"      # report --dod
queries = ["detectors/"]        # directories of the team's own detectors (*.sql)

[params.conflict_storms]        # --param conflict_storms.min_count=20
min_count = 20
```

A flag on the command line always wins; `$LOGANALYZE_DB` wins over `db`. Relative paths
are relative to the file that names them. Every value remembers where it came from, so
`--help` can say so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

CONFIG_FILE = "loganalyze.toml"
PYPROJECT = "pyproject.toml"
PATH_KEYS = ("db", "dod")
TEXT_KEYS = ("tz", "window")
KNOWN_KEYS = (*PATH_KEYS, *TEXT_KEYS, "queries", "params")


class ConfigError(UsageError):
    """A config file that does not parse or holds an unknown or mistyped key (exit 2)."""


@dataclass(frozen=True)
class Config:
    """Defaults read from a config file (empty when there is none)."""

    values: dict[str, Any] = field(default_factory=dict)
    """`db`/`dod` (Path), `tz`/`window` (str), `queries` (list of Path), `params`
    ({detector: {parameter: value}}); only the keys the file sets."""
    path: Path | None = None
    origin: str | None = None
    """How `--help` names the file: `loganalyze.toml` or `pyproject.toml [tool.loganalyze]`."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return self.values.get("params", {})

    @property
    def query_dirs(self) -> list[Path]:
        return self.values.get("queries", [])

    def detector_params(self, detector: str) -> dict[str, Any]:
        return dict(self.params.get(detector, {}))


def find_config(directory: str | Path | None = None) -> tuple[Path, str] | None:
    """The config file that applies in `directory` (default: the working directory) and
    the name it goes by, or None."""
    where = Path(directory) if directory is not None else Path.cwd()
    own = where / CONFIG_FILE
    if own.is_file():
        return own, CONFIG_FILE
    pyproject = where / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        if isinstance(data.get("tool"), dict) and "loganalyze" in data["tool"]:
            return pyproject, f"{PYPROJECT} [tool.loganalyze]"
    return None


def load_config(directory: str | Path | None = None) -> Config:
    """The defaults that apply in `directory` (default: the working directory)."""
    found = find_config(directory)
    if found is None:
        return Config()
    path, origin = found
    data = _read_toml(path)
    if path.name == PYPROJECT:
        data = data["tool"]["loganalyze"]
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.loganalyze] must be a table")
    return Config(values=_validate(data, path, origin), path=path, origin=origin)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _validate(data: dict[str, Any], path: Path, origin: str) -> dict[str, Any]:
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint="known keys: " + ", ".join(KNOWN_KEYS),
        )
    base = path.parent
    values: dict[str, Any] = {}
    for key in (*PATH_KEYS, *TEXT_KEYS):
        if key not in data:
            continue
        if not isinstance(data[key], str) or not data[key].strip():
            raise ConfigError(f"{origin}: `{key}` must be a non-empty string, got {data[key]!r}")
        values[key] = base / data[key] if key in PATH_KEYS else data[key].strip()
    if "window" in values and values["window"] != "all":
        from .timeparse import parse_duration

        try:
            parse_duration(values["window"])
        except UsageError as exc:
            raise ConfigError(f"{origin}: `window`: {exc.message}", hint=exc.hint) from None
    if "tz" in values:
        _check_zone(values["tz"], origin)
    if "queries" in data:
        queries = data["queries"]
        if isinstance(queries, str):
            queries = [queries]
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise ConfigError(f"{origin}: `queries` must be a directory or a list of them")
        dirs = [base / q for q in queries]
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise ConfigError(f"{origin}: `queries` names no directory: {', '.join(missing)}")
        values["queries"] = dirs
    if "params" in data:
        params = data["params"]
        if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
            raise ConfigError(
                f"{origin}: `params` must hold one table per detector",
                hint="e.g. [params.conflict_storms] then min_count = 20",
            )
        values["params"] = {name: dict(table) for name, table in params.items()}
    return values


def _check_zone(name: str, origin: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.lower() in ("utc", "local", "z"):
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{origin}: `tz` is not a time zone: {name!r}",
            hint="use an IANA name such as UTC, Asia/Seoul or Europe/Berlin",
        ) from None


__all__ = ["CONFIG_FILE", "Config", "ConfigError", "find_config", "load_config"]
