"""The SlackGate's replay memory (server/wsgi.py): each signature once, for the 5-minute window only."""

from __future__ import annotations

import hashlib
import hmac

from podbot.server.wsgi import REPLAY_WINDOW_SECONDS, SlackGate

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(body: bytes, timestamp: int) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), b"v0:%d:" % timestamp + body, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": str(timestamp),
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest}",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }


def test_a_signature_is_taken_once_and_forgotten_after_the_window() -> None:
    now = [1_700_000_000.0]
    gate = SlackGate(SECRET, clock=lambda: now[0])
    first = signed(b"command=%2Fpod&text=help", int(now[0]))
    assert gate.refuse(first, b"command=%2Fpod&text=help") is None
    assert gate.refuse(first, b"command=%2Fpod&text=help") == ("401 Unauthorized", "replayed request")
    gate.forget(first)  # answered 5xx: Slack's redelivery with the same signature is taken
    assert gate.refuse(first, b"command=%2Fpod&text=help") is None

    for i in range(100):  # a busy minute later: each request remembered
        now[0] += 0.6
        body = b"command=%2Fpod&text=get+pod+p" + str(i).encode()
        assert gate.refuse(signed(body, int(now[0])), body) is None
    assert gate.remembered == 101

    now[0] += REPLAY_WINDOW_SECONDS + 1
    body = b"command=%2Fpod&text=help"
    assert gate.refuse(signed(body, int(now[0])), body) is None
    assert gate.remembered == 1  # only the newest; the rest left the window


def test_a_wrong_signature_is_refused() -> None:
    gate = SlackGate(SECRET, clock=lambda: 1_700_000_000.0)
    environ = signed(b"command=%2Fpod", 1_700_000_000)
    assert gate.refuse(environ, b"command=%2Fpod&text=delete") == ("401 Unauthorized", "bad signature")
