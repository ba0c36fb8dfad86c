"""Shown times: in the display time zone, with an unambiguous offset (never "CST")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from podbot.core.times import is_timezone, show_time, zone

MOMENT = datetime(2026, 12, 3, 10, 47, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timezone", "shown"),
    [
        ("UTC", "2026-12-03 10:47 UTC"),
        ("Asia/Shanghai", "2026-12-03 18:47 UTC+8"),
        ("Asia/Kolkata", "2026-12-03 16:17 UTC+5:30"),
        ("America/Sao_Paulo", "2026-12-03 07:47 UTC-3"),
        ("Europe/London", "2026-12-03 10:47 UTC"),  # winter: no offset, so plain UTC
    ],
)
def test_show_time(timezone: str, shown: str) -> None:
    assert show_time(MOMENT, timezone) == shown


def test_seconds_and_the_day_change() -> None:
    assert show_time(datetime(2026, 12, 3, 20, 0, 1, tzinfo=UTC), "Asia/Shanghai", seconds=True) == (
        "2026-12-04 04:00:01 UTC+8"
    )


def test_unknown_zones() -> None:
    assert is_timezone("Asia/Shanghai") and is_timezone("UTC")
    assert not is_timezone("Mars/Olympus") and not is_timezone("../etc/passwd")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
