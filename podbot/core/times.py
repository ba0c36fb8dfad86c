"""Times as people read them: in a display time zone (default UTC, per workspace or channel).

Stored and computed times stay timezone-aware UTC; only what is shown is converted. A shown
time names its offset (``2026-12-03 18:47 UTC+8``), never an abbreviation such as CST, which
means China Standard Time to some readers and US Central Time to others.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "UTC"


@cache
def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``); ValueError if there is no such zone."""
    if name in ("", "UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai or UTC)") from None


def is_timezone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


def offset_label(local: datetime) -> str:
    """``UTC``, ``UTC+8``, ``UTC+5:30``, ``UTC-3``: the offset of an aware local time."""
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def show_time(moment: datetime, timezone: str = DEFAULT_TIMEZONE, *, seconds: bool = False) -> str:
    """``moment`` in ``timezone``, with its offset: ``2026-12-03 18:47 UTC+8``."""
    local = moment.astimezone(zone(timezone))
    return f"{local.strftime('%Y-%m-%d %H:%M:%S' if seconds else '%Y-%m-%d %H:%M')} {offset_label(local)}"
