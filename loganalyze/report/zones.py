"""Display time zones: timestamps are stored in UTC and shown in the zone the reader asks
for (`--tz`), or the machine's own zone, always named in the output."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..errors import UsageError


def local_zone_name() -> str:
    """The IANA name of this machine's zone: $TZ, else /etc/localtime's target, else UTC."""
    env = os.environ.get("TZ", "").lstrip(":")
    if env and _is_zone(env):
        return env
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        marker = "zoneinfo/"
        if marker in target:
            name = target.split(marker, 1)[1]
            if _is_zone(name):
                return name
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        name = timezone_file.read_text(encoding="utf-8").strip()
        if _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def resolve_zone(tz: str | None) -> str:
    """`--tz` → a validated IANA zone name (None = the local zone)."""
    if tz is None or tz.strip() == "" or tz.strip().lower() == "local":
        return local_zone_name()
    name = tz.strip()
    if name.upper() in {"UTC", "Z"}:
        return "UTC"
    if not _is_zone(name):
        close = sorted(z for z in available_timezones() if name.lower() in z.lower())[:5]
        raise UsageError(
            f"unknown time zone: {tz!r}",
            hint="use an IANA name such as UTC, Asia/Seoul or Europe/Berlin"
            + (f" (did you mean {', '.join(close)}?)" if close else ""),
        )
    return name


def zone_label(zone: str, at: datetime | None = None) -> str:
    """`Asia/Seoul (UTC+09:00)`: the name and the offset in force at `at`."""
    moment = at if at is not None else datetime.now(ZoneInfo("UTC"))
    offset = moment.astimezone(ZoneInfo(zone)).strftime("%z")
    if zone == "UTC":
        return "UTC"
    return f"{zone} (UTC{offset[:3]}:{offset[3:]})"


def to_zone(value: datetime, zone: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(ZoneInfo(zone))


def format_instant(
    value: datetime | None, zone: str, *, seconds: bool = True, short: bool = False
) -> str:
    """A stored UTC instant as wall-clock time in `zone` (the zone is named once, in the
    header, not on every line); `short`: the time of day alone (HH:MM, with :SS when it
    is not on a whole minute), for sentences about one day."""
    if value is None:
        return "—"
    local = to_zone(value, zone)
    if short:
        return local.strftime("%H:%M" if local.second == 0 and local.microsecond == 0 else "%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def parse_local_instant(text: str, zone: str) -> datetime:
    """An ISO timestamp typed by a reader: naive means wall-clock time in `zone` (the zone
    the report is shown in), an explicit offset wins."""
    raw = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(ZoneInfo("UTC"))
