"""Fixtures of the localslack tests: a workspace on a manual clock, served on loopback, and a
WebClient with its bot token. (A module that needs another workspace defines its own ``slack``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from podbot.localslack import LocalSlack, Workspace
from tests.support.localslack import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[LocalSlack]:
    with LocalSlack(Workspace.demo(clock=clock)) as emulator:
        yield emulator


@pytest.fixture
def client(slack: LocalSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url)
