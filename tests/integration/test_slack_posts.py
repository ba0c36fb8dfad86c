"""``SlackMessenger.post`` (chat.postMessage: digests, alerts, approval cards) against
podbot.localslack: only a 429 is retried (Slack took nothing; tests/integration/test_slack_edges.py
covers it); a 5xx, a timeout or a dropped
connection is ``DeliveryUncertain`` after exactly one call, whether Slack stored the message or
not; an ``ok: false`` answer stays a definite ``DeliveryFailed`` (issue: reliability, item 3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from podbot.core.errors import DeliveryFailed, DeliveryUncertain
from podbot.localslack import LocalSlack, Workspace
from podbot.render.blocks import Rendered
from podbot.slack.delivery import SlackMessenger
from podbot.slack.web_client import make_post_client, make_web_client

MESSAGE = Rendered(text="a digest", blocks=[])


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    with LocalSlack(Workspace.demo()) as emulator:
        yield emulator


def messenger(slack: LocalSlack, *, timeout: int = 30) -> SlackMessenger:
    posts = make_post_client(slack.bot_token, slack.api_url, timeout=timeout)
    return SlackMessenger(make_web_client(slack.bot_token, slack.api_url), posts)


def stored(slack: LocalSlack) -> int:
    return len([m for m in slack.messages("ops") if m.is_bot])


FAULTS: dict[str, tuple[Callable[[LocalSlack], None], int]] = {
    # fault -> messages Slack stored
    "store_then_fail_503": (lambda s: s.faults.store_then_fail("chat.postMessage", status=503), 1),
    "store_then_fail_500": (lambda s: s.faults.store_then_fail("chat.postMessage", status=500), 1),
    "store_then_drop": (lambda s: s.faults.store_then_drop("chat.postMessage"), 1),
    "lost_503": (lambda s: s.faults.http_status("chat.postMessage", 503), 0),
    "dropped": (lambda s: s.faults.drop_connection("chat.postMessage"), 0),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_an_unconfirmed_post_is_uncertain_after_one_call(slack: LocalSlack, fault: str) -> None:
    inject, kept = FAULTS[fault]
    inject(slack)
    channel = slack.workspace.channel("ops").id
    with pytest.raises(DeliveryUncertain):
        messenger(slack).post(channel, MESSAGE, metadata={"event_type": "podbot_digest", "event_payload": {}})
    assert len(slack.api_calls("chat.postMessage")) == 1  # no retry underneath
    assert stored(slack) == kept


@pytest.mark.slow  # the client's timeout runs in real time (1 s)
def test_a_post_whose_answer_times_out_is_uncertain(slack: LocalSlack) -> None:
    slack.faults.stall("chat.postMessage", 3)
    with pytest.raises(DeliveryUncertain):
        messenger(slack, timeout=1).post(slack.workspace.channel("ops").id, MESSAGE)
    assert len(slack.api_calls("chat.postMessage")) == 1 and stored(slack) == 1


def test_a_refusal_is_a_definite_failure(slack: LocalSlack) -> None:
    slack.faults.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(DeliveryFailed) as failed:
        messenger(slack).post(slack.workspace.channel("ops").id, MESSAGE)
    assert not isinstance(failed.value, DeliveryUncertain) and failed.value.code == "channel_not_found"
