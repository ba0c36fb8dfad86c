"""What Slack sends to an app, field for field (pure: dicts in, dicts and strings out).

- Slash commands: a form-encoded body (``token, team_id, team_domain, channel_id,
  channel_name, user_id, user_name, command, text, api_app_id, is_enterprise_install,
  response_url, trigger_id``), every value a string.
- Interactions: ``payload=<JSON>`` form-encoded; ``block_actions``, ``view_submission``,
  ``view_closed``. In Socket Mode the same dicts travel as the envelope ``payload``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from podbot.localslack.directory import Channel, Team, User
from podbot.localslack.render import ButtonLabel

JsonDict = dict[str, Any]


def user_ref(user: User, team_id: str) -> JsonDict:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": team_id}


def team_ref(team: Team) -> JsonDict:
    return {"id": team.id, "domain": team.domain}


def channel_name(channel: Channel) -> str:
    if channel.is_im:
        return "directmessage"
    return "privategroup" if channel.is_private else channel.name


def slash_command(
    *,
    token: str,
    team: Team,
    channel: Channel,
    user: User,
    command: str,
    text: str,
    app_id: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    return {
        "token": token,
        "team_id": team.id,
        "team_domain": team.domain,
        "channel_id": channel.id,
        "channel_name": channel_name(channel),
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def form_body(fields: Mapping[str, str]) -> str:
    return urlencode(fields)


def interaction_body(payload: JsonDict) -> str:
    """``payload=<url-encoded JSON>``, exactly one form field, as Slack posts interactions."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def button_action(button: ButtonLabel, action_ts: str) -> JsonDict:
    element = button.element
    action: JsonDict = {
        "action_id": button.action_id,
        "block_id": button.block_id,
        "text": element.get("text"),
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if "value" in element:
        action["value"] = element["value"]
    if element.get("style"):
        action["style"] = element["style"]
    if element.get("url"):
        action["url"] = element["url"]
    return action


def block_actions(
    *,
    token: str,
    team: Team,
    user: User,
    app_id: str,
    trigger_id: str,
    action: JsonDict,
    container: JsonDict,
    channel: Channel | None = None,
    message: JsonDict | None = None,
    view: JsonDict | None = None,
    response_url: str | None = None,
    state_values: JsonDict | None = None,
) -> JsonDict:
    payload: JsonDict = {
        "type": "block_actions",
        "user": user_ref(user, team.id),
        "api_app_id": app_id,
        "token": token,
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(team),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel is not None:
        payload["channel"] = {"id": channel.id, "name": channel_name(channel)}
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    payload["state"] = {"values": state_values or {}}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def view_submission(
    *, token: str, team: Team, user: User, app_id: str, trigger_id: str, view: JsonDict
) -> JsonDict:
    return {
        "type": "view_submission",
        "team": team_ref(team),
        "user": user_ref(user, team.id),
        "api_app_id": app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    *, token: str, team: Team, user: User, app_id: str, view: JsonDict, is_cleared: bool
) -> JsonDict:
    return {
        "type": "view_closed",
        "team": team_ref(team),
        "user": user_ref(user, team.id),
        "api_app_id": app_id,
        "token": token,
        "view": view,
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


# --- modal input state ------------------------------------------------------------------------


def _option(element: Mapping[str, Any], wanted: str) -> JsonDict:
    for option in element.get("options") or []:
        text = option.get("text") or {}
        if wanted in (option.get("value"), text.get("text")):
            return dict(option)
    for group in element.get("option_groups") or []:
        for option in group.get("options") or []:
            if wanted in (option.get("value"), (option.get("text") or {}).get("text")):
                return dict(option)
    raise LookupError(f"no option {wanted!r} in {element.get('action_id')!r}")


def input_state(element: Mapping[str, Any], value: Any) -> JsonDict:
    """The ``state.values`` entry for one input element holding ``value``."""
    kind = str(element.get("type"))
    state: JsonDict = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = None if value is None or value == "" else str(value)
    elif kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = None if value is None else _option(element, str(value))
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        state["selected_options"] = [_option(element, str(v)) for v in (value or [])]
    elif kind == "users_select":
        state["selected_user"] = value
    elif kind == "multi_users_select":
        state["selected_users"] = list(value or [])
    elif kind == "conversations_select":
        state["selected_conversation"] = value
    elif kind == "channels_select":
        state["selected_channel"] = value
    elif kind == "datepicker":
        state["selected_date"] = value
    elif kind == "timepicker":
        state["selected_time"] = value
    elif kind == "file_input":
        state["files"] = list(value or [])
    else:
        state["value"] = value
    return state


def is_empty(state: Mapping[str, Any]) -> bool:
    for key in (
        "value",
        "selected_option",
        "selected_user",
        "selected_conversation",
        "selected_channel",
        "selected_date",
        "selected_time",
    ):
        if key in state:
            return state[key] in (None, "")
    for key in ("selected_options", "selected_users", "files"):
        if key in state:
            return not state[key]
    return True
