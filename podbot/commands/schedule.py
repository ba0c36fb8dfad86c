"""Durations (``5m``, ``1h30m``, ``2d``) and five-field cron expressions.

Durations follow Go's ``time.ParseDuration`` (what ``kubectl logs --since`` takes), plus ``d``
for days where podbot looks back or repeats over days (``audit --since 2d``, ``--every 1d``).

Cron expressions are validated and normalized for APScheduler 3, whose
``CronTrigger.from_crontab`` counts weekdays from Monday = 0 while cron counts from
Sunday = 0 (APScheduler issue 286): the day-of-week field is rewritten with names
(``1-5`` -> ``mon,tue,wed,thu,fri``), which both read the same way.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from podbot.core.messages import Problem

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)")
_MAX_SECONDS = 290 * 365 * 86400  # Go's time.Duration overflows near 292 years


def duration_seconds(text: str, *, flag: str, days: bool = False) -> int:
    """Seconds in ``text`` (rounded like kubectl's ``Round(time.Second)``); must be >= 1 s."""
    value = text.strip()
    pos = 0
    total = 0.0
    while pos < len(value):
        match = _PART.match(value, pos)
        if match is None or (match.group(2) == "d" and not days) or len(match.group(1)) > 15:
            raise Problem(
                "commands.error.bad_duration_days" if days else "commands.error.bad_duration",
                flag=flag,
                value=text,
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not value:
        raise Problem(
            "commands.error.bad_duration_days" if days else "commands.error.bad_duration",
            flag=flag,
            value=text,
        )
    if total > _MAX_SECONDS:
        raise Problem("commands.error.duration_too_long", flag=flag, value=text)
    seconds = int(total + 0.5)
    if seconds < 1:
        raise Problem("commands.error.duration_not_positive", flag=flag, value=text)
    return seconds


# --- cron ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] means low + i


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _WEEKDAYS),  # 7 is Sunday too
)
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ELEMENT = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")
MIN_GAP_MINUTES = 5


def _number(field: _Field, text: str, expr: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= 3:
        value = int(text)
    elif text in field.names:
        value = field.low + field.names.index(text)
    else:
        raise Problem("commands.error.cron_value", cron=expr, field=field.name, value=text)
    if not field.low <= value <= field.high:
        raise Problem(
            "commands.error.cron_range",
            cron=expr,
            field=field.name,
            value=text,
            low=field.low,
            high=field.high,
        )
    return value


def _expand(field: _Field, text: str, expr: str) -> set[int]:
    values: set[int] = set()
    for element in text.split(","):
        match = _ELEMENT.match(element)
        if match is None:
            raise Problem("commands.error.cron_syntax", cron=expr, field=field.name, value=element)
        span, step_text = match.group(1), match.group(2)
        step = int(step_text) if step_text is not None else 1
        if step < 1 or (step_text is not None and len(step_text) > 3):
            raise Problem("commands.error.cron_step", cron=expr, field=field.name, value=element)
        if span == "*":
            first, last = field.low, field.high
        else:
            start, dash, end = span.partition("-")
            first = _number(field, start, expr)
            # "5/15" means 5-59/15, as in cronie and APScheduler.
            last = _number(field, end, expr) if dash else (field.high if step_text is not None else first)
            if first > last:
                raise Problem("commands.error.cron_backwards", cron=expr, field=field.name, value=element)
        values.update(range(first, last + 1, step))
    return values


def cron(text: str) -> str:
    """Validate a 5-field cron expression and return it normalized for APScheduler 3."""
    expr = " ".join(text.lower().split())
    expr = _MACROS.get(expr, expr)
    if expr.startswith("@"):
        raise Problem("commands.error.cron_macro", cron=text)
    parts = expr.split(" ")
    if len(parts) != 5:
        raise Problem("commands.error.cron_fields", cron=text, count=len(parts) if expr else 0)
    sets = [_expand(field, part, text) for field, part in zip(_FIELDS, parts, strict=True)]
    minutes, hours, _, _, weekdays = sets
    if parts[2] != "*" and parts[4] != "*":
        # cron fires when EITHER matches, APScheduler only when BOTH do: refuse the ambiguity.
        raise Problem("commands.error.cron_day_and_weekday", cron=text)
    _check_gap(text, sorted(minutes), hours)
    if parts[4] != "*":
        days = sorted({d % 7 for d in weekdays})
        parts[4] = ",".join(_WEEKDAYS[d] for d in _monday_first(days))
    return " ".join(parts)


def _monday_first(days: list[int]) -> list[int]:
    return sorted(days, key=lambda d: (d + 6) % 7)


def _check_gap(text: str, minutes: list[int], hours: set[int]) -> None:
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    if any((h + 1) % 24 in hours for h in hours):
        gaps.append(60 - minutes[-1] + minutes[0])
    if gaps and min(gaps) < MIN_GAP_MINUTES:
        raise Problem("commands.error.cron_too_often", cron=text, minutes=MIN_GAP_MINUTES)
