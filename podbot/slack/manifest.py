"""Pure: the Slack app manifest (https://api.slack.com/reference/manifests) for installing podbot."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

BOT_SCOPES = [
    "commands",  # the /pod slash command
    "chat:write",  # answers, approval requests, digests, alerts
    "chat:write.public",  # digests into public channels the bot was not invited to
    "files:write",  # output too long for a message
    "im:write",  # private uploads (long output of ephemeral answers) go to a DM
    "users:read",  # user profiles (approvals, audit)
    "users:read.email",  # per-user identity maps Slack users to Kubernetes users by email
    "usergroups:read",  # approvers may be Slack user groups
    "channels:read",  # channel names for channel policies
    "groups:read",
    "metadata.message:read",  # message_metadata_posted: settles a post Slack did not confirm
]

# The message metadata event types podbot tags its non-idempotent posts with; Slack sends
# ``message_metadata_posted`` for each one it stores, which settles a post whose answer was lost.
METADATA_EVENT_TYPES = ("podbot_digest", "podbot_alert", "podbot_approval")


def app_manifest(
    url: str | None = None, *, socket_mode: bool = False, name: str = "podbot", app_id: str = "*"
) -> dict[str, Any]:
    """The manifest; HTTP mode needs the public ``url`` the app is served at (…/slack/events).
    ValueError (with the fix) for a URL Slack would not accept, or one that Socket Mode would drop.

    ``app_id`` narrows the metadata subscriptions to podbot's own app once it has one (a new app
    has no id yet: "*" subscribes to those event types from any app, and the listener keeps only
    events whose ``app_id`` is its own)."""
    if socket_mode:
        if url:
            raise ValueError(
                "--url and --socket-mode do not go together: in Socket Mode podbot connects to Slack "
                "and has no request URL. Drop one of them."
            )
        request_url = None
    elif not url:
        raise ValueError("HTTP mode needs --url (where Slack reaches podbot); or use --socket-mode")
    else:
        request_url = request_url_of(url)
    command: dict[str, Any] = {
        "command": "/pod",
        "description": "Kubernetes pods: run, create, get, describe, logs, delete, secret, static",
        "usage_hint": "get pods | describe pod NAME | logs NAME | help",
        "should_escape": False,
    }
    settings: dict[str, Any] = {
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": False,
    }
    events: dict[str, Any] = {
        "bot_events": ["message_metadata_posted"],
        "metadata_subscriptions": [{"app_id": app_id, "event_type": kind} for kind in METADATA_EVENT_TYPES],
    }
    settings["event_subscriptions"] = events
    if request_url is not None:
        command["url"] = request_url
        settings["interactivity"]["request_url"] = request_url
        events["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Chat-ops for Kubernetes pods, with approvals and digests",
            "background_color": "#326ce5",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": settings,
    }


def request_url_of(url: str) -> str:
    """``https://host[/path]`` -> its ``…/slack/events``; Slack sends requests over HTTPS only."""
    text = url.strip()
    parts = urlsplit(text)
    if "://" not in text:
        raise ValueError(f"--url {url!r} has no scheme: write https://{text.lstrip('/')}")
    if parts.scheme.lower() != "https":
        raise ValueError(f"--url {url!r} must start with https:// (Slack only sends requests to HTTPS URLs)")
    if not parts.hostname:
        raise ValueError(f"--url {url!r} names no host, e.g. https://podbot.example.com")
    if parts.query or parts.fragment:
        raise ValueError(f"--url {url!r} must not have a query or fragment (?… #…)")
    base = parts._replace(scheme="https").geturl().rstrip("/")
    return base if base.endswith("/slack/events") else f"{base}/slack/events"
