"""views.open, views.push and views.update Web API methods."""

from __future__ import annotations

from typing import Any

from podbot.localslack.api import Core, Method
from podbot.localslack.blockkit import normalize_blocks, validate_view
from podbot.localslack.schema import error_body
from podbot.localslack.wire import ApiError, ApiRequest, ApiResult

JsonDict = dict[str, Any]


def _checked_view(core: Core, req: ApiRequest) -> JsonDict:
    """The ``view`` argument, validated like Slack (``invalid_arguments`` + messages)."""
    view = req.json_arg("view")
    if view is None:
        raise ApiError(
            "invalid_arguments",
            extra={"response_metadata": {"messages": ["[ERROR] missing required field: view"]}},
        )
    errors = validate_view(view, core.limits)
    if errors:
        body = error_body("invalid_arguments", errors)
        raise ApiError("invalid_arguments", extra={"response_metadata": body["response_metadata"]})
    if len(str(view)) > 250_000:
        raise ApiError("view_too_large")
    stored = dict(view)
    stored["blocks"] = normalize_blocks(view.get("blocks") or [])
    return stored


def _result(core: Core, stored: Any) -> ApiResult:
    return ApiResult({"view": core.workspace.view_snapshot(stored).json})


def open_view(core: Core, req: ApiRequest) -> ApiResult:
    trigger_id = req.str_arg("trigger_id") or req.str_arg("interactivity_pointer")
    if not trigger_id:
        raise ApiError(
            "invalid_arguments",
            extra={"response_metadata": {"messages": ["[ERROR] missing required field: trigger_id"]}},
        )
    view = _checked_view(core, req)
    if view.get("type") != "modal":
        raise ApiError(
            "invalid_arguments",
            extra={
                "response_metadata": {
                    "messages": ["[ERROR] views.open only opens modals [json-pointer:/view/type]"]
                }
            },
        )
    trigger = core.workspace.interactions.exchange_trigger(trigger_id)
    return _result(core, core.workspace.modals.open(trigger.user, view))


def push_view(core: Core, req: ApiRequest) -> ApiResult:
    trigger_id = req.str_arg("trigger_id") or req.str_arg("interactivity_pointer")
    if not trigger_id:
        raise ApiError(
            "invalid_arguments",
            extra={"response_metadata": {"messages": ["[ERROR] missing required field: trigger_id"]}},
        )
    view = _checked_view(core, req)
    trigger = core.workspace.interactions.exchange_trigger(trigger_id)
    return _result(core, core.workspace.modals.push(trigger.user, view))


def update_view(core: Core, req: ApiRequest) -> ApiResult:
    view_id = req.str_arg("view_id")
    external_id = req.str_arg("external_id")
    if not view_id and not external_id:
        raise ApiError(
            "invalid_arguments",
            extra={"response_metadata": {"messages": ["[ERROR] either view_id or external_id is required"]}},
        )
    view = _checked_view(core, req)
    modals = core.workspace.modals
    stored = modals.find(view_id=view_id, external_id=external_id)
    return _result(core, modals.update(stored, view, expected_hash=req.str_arg("hash")))


METHODS: dict[str, Method] = {
    "views.open": Method(open_view),
    "views.push": Method(push_view),
    "views.update": Method(update_view),
}
