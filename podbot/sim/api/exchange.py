"""Small pieces every API endpoint shares: what a request means, JSON answers, query parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from podbot.sim.objects.apierrors import status_bad_request, status_body
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.resources import ResourceType
from podbot.sim.wire.transport import Request, Response

JSON = dict[str, Any]
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class RequestInfo:
    """k8s RequestInfo: what a resource path + method means."""

    verb: str
    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    watch: bool


def json_response(status: int, body: Any, headers: Headers | None = None) -> Response:
    return Response(
        status, json.dumps(body, separators=(",", ":")).encode() + b"\n", "application/json", headers or []
    )


def error_response(error: SimApiError, headers: Headers | None = None) -> Response:
    """The ``Status`` for an error (with ``Retry-After`` on 429, as the real server sends)."""
    extra = list(headers or [])
    retry = error.details.get("retryAfterSeconds") if error.details else None
    if error.code == 429:
        extra.append(("Retry-After", str(retry or 1)))
    return json_response(error.code, status_body(error), extra)


def flag(value: str) -> bool:
    return value.lower() in ("true", "1", "yes")


def int_param(req: Request, name: str) -> int | None:
    text = req.param(name)
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise status_bad_request(f'{name}: Invalid value: "{text}": must be an integer') from None


def warning_headers(warnings: list[str]) -> Headers:
    """``Warning: 299 - "text"`` lines (kubectl prints them as ``Warning: text``)."""
    return [("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"') for w in warnings]
