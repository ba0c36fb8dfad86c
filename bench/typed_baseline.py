"""The typed-client baseline: what a typed implementation of podbot's watch cache would do.

It lists with the official client's typed calls (``list_pod_for_all_namespaces`` & co, JSON into
generated model objects) and builds the same cache content by reading the models' attributes.
``ModelView`` lets podbot's own summary code read a model directly (``get("containerStatuses")``
is ``model.container_statuses``): no model -> dict round trip, timestamps stay ``datetime``s.
"""

from __future__ import annotations

from typing import Any

_ATTRIBUTES: dict[type, dict[str, str]] = {}  # model class -> JSON key -> attribute


def _attribute(cls: type, key: str) -> str | None:
    table = _ATTRIBUTES.get(cls)
    if table is None:
        table = {json_key: attr for attr, json_key in getattr(cls, "attribute_map", {}).items()}
        _ATTRIBUTES[cls] = table
    return table.get(key)


def view(value: Any) -> Any:
    """A model as a read-only mapping of its JSON keys; lists of models as lists of views."""
    if isinstance(value, list):
        return [view(v) for v in value]
    if hasattr(type(value), "attribute_map"):
        return ModelView(value)
    return value  # str, int, bool, datetime, dict[str, str] (labels, limits, secret data)


class ModelView:
    __slots__ = ("_model",)

    def __init__(self, model: Any) -> None:
        self._model = model

    def get(self, key: str, default: Any = None) -> Any:
        attr = _attribute(type(self._model), key)
        if attr is None:
            return default
        value = getattr(self._model, attr)
        return default if value is None else view(value)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None
