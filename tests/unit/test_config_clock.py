"""The ``clock`` knob of the configuration file (bench/chaos.py): real time unless it is set."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podbot.core.errors import ConfigError
from podbot.server.config import load_clock


def test_without_a_clock_setting_the_bot_runs_on_real_time(tmp_path: Path) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text("workers: 2\n")
    before = datetime.now(UTC)
    now = load_clock({}, str(config))()
    assert before <= now <= datetime.now(UTC)
    assert before <= load_clock({})() <= datetime.now(UTC)  # no file at all


def test_a_sped_up_clock_counts_from_its_epoch_so_replicas_agree(tmp_path: Path) -> None:
    epoch = time.time() - 100  # 100 real seconds ago, at speed 10: 1000 simulated seconds later
    config = tmp_path / "podbot.yaml"
    config.write_text(f"clock:\n  epoch: {epoch!r}\n  speed: 10\n")
    env = {"PODBOT_CONFIG": str(config)}
    first, second = load_clock(env)(), load_clock({}, str(config))()  # two "replicas"
    expected = epoch + (time.time() - epoch) * 10
    assert abs(first.timestamp() - expected) < 5
    assert abs(second.timestamp() - first.timestamp()) < 5
    assert first.tzinfo is UTC


@pytest.mark.parametrize("clock", ["clock: 3\n", "clock:\n  speed: 2\n", "clock:\n  epoch: 1\n  speed: 0\n"])
def test_a_bad_clock_setting_is_one_clear_error(tmp_path: Path, clock: str) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text(clock)
    with pytest.raises(ConfigError, match="clock"):
        load_clock({}, str(config))
