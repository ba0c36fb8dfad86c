"""The baseline for bench/slack_acks.py: a bolt app whose /pod listener only acks, on the same server."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from podbot.server.wsgi import WebServer


def main() -> None:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    # Configured as podbot configures bolt (podbot.slack.app.build_app): the response is sent
    # when the listener returns, not polled for.
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=True)

    @app.command("/pod")
    def ack_only(ack: Ack) -> None:
        ack()

    server = WebServer(
        SlackRequestHandler(app),
        "127.0.0.1",
        int(os.environ["PORT"]),
        threads=int(os.environ.get("BENCH_THREADS", "8")),
    ).start()
    print(f"ready {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
