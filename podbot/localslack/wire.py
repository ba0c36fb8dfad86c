"""Request/response shapes shared by the emulator's HTTP endpoints and method handlers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


class ApiError(Exception):
    """A Web API failure: ``{"ok": false, "error": code, ...extra}`` with an HTTP status."""

    def __init__(
        self,
        code: str,
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> JsonDict:
        return {"ok": False, "error": self.code, **self.extra}


@dataclass(frozen=True)
class ApiRequest:
    """One Web API call after auth: the method, merged query/body arguments and the caller."""

    method: str
    args: Mapping[str, Any]
    token_kind: str  # "bot" or "app"
    json_body: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)

    def str_arg(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self.args.get(key)
        if value is None or value == "":
            if required:
                raise ApiError(
                    "invalid_arguments",
                    extra={"response_metadata": {"messages": [f"[ERROR] missing required field: {key}"]}},
                )
            return default
        return value if isinstance(value, str) else str(value)

    def bool_arg(self, key: str, default: bool = False) -> bool:
        value = self.args.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes")

    def int_arg(self, key: str, default: int) -> int:
        value = self.args.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(
                "invalid_arguments",
                extra={"response_metadata": {"messages": [f"[ERROR] {key} must be an integer"]}},
            ) from None

    def json_arg(self, key: str, *, bad_format: str = "invalid_arguments") -> Any:
        """A JSON-valued argument: a JSON string in forms, a string or a structure in JSON bodies."""
        value = self.args.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ApiError(bad_format) from None
        return value


@dataclass(frozen=True)
class ApiResult:
    """A successful method result; ``ok: true`` is added by the server."""

    data: JsonDict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def paginate(
    items: list[Any], req: ApiRequest, *, default_limit: int = 100, max_limit: int = 1000
) -> tuple[list[Any], str]:
    """One page of ``items`` per Slack's cursor pagination (``limit``, opaque ``cursor``)."""
    limit = max(1, min(req.int_arg("limit", default_limit), max_limit))
    cursor = req.str_arg("cursor")
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError("invalid_cursor") from None
    page = items[start : start + limit]
    more = start + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return page, next_cursor
