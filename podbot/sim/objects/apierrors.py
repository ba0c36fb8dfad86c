"""The API server's error vocabulary: ``Status`` objects with the real reasons and messages.

Mirrors k8s.io/apimachinery/pkg/api/errors (``NewNotFound``, ``NewInvalid`` ...) and
pkg/util/validation/field (``field.Error``), so clients that branch on ``reason``/``code`` or show
``message`` to people see what a real kube-apiserver would send.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from podbot.sim.objects.meta import SimApiError

JSON = dict[str, Any]


class ErrorType(Enum):
    """field.ErrorType: the cause ``reason`` and the words that open its message."""

    NOT_FOUND = ("FieldValueNotFound", "Not found")
    REQUIRED = ("FieldValueRequired", "Required value")
    DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
    INVALID = ("FieldValueInvalid", "Invalid value")
    NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
    FORBIDDEN = ("FieldValueForbidden", "Forbidden")
    TOO_LONG = ("FieldValueTooLong", "Too long")
    TOO_MANY = ("FieldValueTooMany", "Too many")
    TYPE_INVALID = ("FieldValueTypeInvalid", "Invalid value")

    @property
    def reason(self) -> str:
        return self.value[0]

    @property
    def words(self) -> str:
        return self.value[1]


_NO_VALUE = object()


def go_value(value: Any) -> str:
    """Render a bad value the way field.Error does (``%q`` strings, ``%v`` scalars, ``%#v`` maps)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))}:{json.dumps(str(v))}" for k, v in value.items())
        return "map[string]string{" + inner + "}"
    if isinstance(value, list):
        return "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an object (field.Error)."""

    type: ErrorType
    field: str
    bad_value: Any = _NO_VALUE
    detail: str = ""

    def body(self) -> str:
        """field.Error.ErrorBody: the message without the field path."""
        if self.type in (ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG) or (
            self.bad_value is _NO_VALUE
        ):
            text = self.type.words
        else:
            text = f"{self.type.words}: {go_value(self.bad_value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def cause(self) -> JSON:
        return {"reason": self.type.reason, "message": self.body(), "field": self.field}


# Constructors named like field.Required(...), field.Invalid(...) so validators read like the Go code.
def required(path: str, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, path, detail=detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(ErrorType.INVALID, path, value, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, path, detail=detail)


def not_supported(path: str, value: Any, valid: Sequence[str]) -> FieldError:
    quoted = ", ".join(json.dumps(v) for v in valid)
    return FieldError(ErrorType.NOT_SUPPORTED, path, value, f"supported values: {quoted}")


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(ErrorType.TOO_LONG, path, detail=f"may not be more than {limit} bytes")


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(ErrorType.NOT_FOUND, path, value)


def aggregate(errors: Sequence[object]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or ``[a, b]`` for several."""
    texts: list[str] = []
    for error in errors:
        if str(error) not in texts:
            texts.append(str(error))
    if len(texts) == 1:
        return texts[0]
    return "[" + ", ".join(texts) + "]"


# --- StatusError constructors ------------------------------------------------------------------
def qualified(resource: str, group: str) -> str:
    """schema.GroupResource.String(): ``pods`` or ``deployments.apps``."""
    return f"{resource}.{group}" if group else resource


def _details(group: str, kind: str, name: str) -> JSON:
    details: JSON = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    return details


def status_not_found(resource: str, name: str, group: str = "") -> SimApiError:
    return SimApiError(
        404,
        "NotFound",
        f"{qualified(resource, group)} {json.dumps(name)} not found",
        _details(group, resource, name),
    )


def status_already_exists(resource: str, name: str, group: str = "") -> SimApiError:
    return SimApiError(
        409,
        "AlreadyExists",
        f"{qualified(resource, group)} {json.dumps(name)} already exists",
        _details(group, resource, name),
    )


def status_conflict(resource: str, name: str, why: str, group: str = "") -> SimApiError:
    return SimApiError(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {qualified(resource, group)} {json.dumps(name)}: {why}",
        _details(group, resource, name),
    )


MODIFIED_CONFLICT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def status_forbidden(
    resource: str, name: str, why: str, group: str = "", causes: Sequence[JSON] = ()
) -> SimApiError:
    if not resource:
        message = f"forbidden: {why}"
    elif not name:
        message = f"{qualified(resource, group)} is forbidden: {why}"
    else:
        message = f"{qualified(resource, group)} {json.dumps(name)} is forbidden: {why}"
    details = _details(group, resource, name)
    if causes:
        details["causes"] = list(causes)
    return SimApiError(403, "Forbidden", message, details)


def status_invalid(kind: str, name: str, errors: Sequence[FieldError], group: str = "") -> SimApiError:
    qualified_kind = f"{kind}.{group}" if group else kind
    message = f"{qualified_kind} {json.dumps(name)} is invalid"
    if errors:
        message += ": " + aggregate(errors)
    details = _details(group, kind, name)
    details["causes"] = [e.cause() for e in errors]
    return SimApiError(422, "Invalid", message, details)


def status_bad_request(message: str) -> SimApiError:
    return SimApiError(400, "BadRequest", message)


def status_method_not_allowed() -> SimApiError:
    return SimApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def status_gone(message: str) -> SimApiError:
    return SimApiError(410, "Expired", message)


def status_unsupported_media_type(content_type: str, accepted: Sequence[str]) -> SimApiError:
    return SimApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
        {"causes": [{"reason": "UnexpectedServerResponse", "message": content_type}]} if content_type else {},
    )


def status_path_not_found() -> SimApiError:
    return SimApiError(404, "NotFound", "the server could not find the requested resource")


def status_unauthorized() -> SimApiError:
    return SimApiError(401, "Unauthorized", "Unauthorized")


def status_internal(message: str) -> SimApiError:
    return SimApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def status_body(error: SimApiError) -> JSON:
    """The ``Status`` object for an error, in the field order the API server writes."""
    body: JSON = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
    }
    body["details"] = error.details
    body["code"] = error.code
    if not error.details and error.reason != "NotFound":
        # The real server omits empty details, except on its generic "could not find" 404.
        del body["details"]
    if not error.reason:
        del body["reason"]
    return body


def status_success(details: JSON | None = None) -> JSON:
    body: JSON = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body
