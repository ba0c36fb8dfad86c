"""The message catalog: every user-facing sentence, in English and Simplified Chinese.

Catalogs are YAML files in ``podbot/locale/`` (``en.yaml``, ``zh_CN.yaml``) mapping a stable key to
a ``str.format`` template, in the keyed style of Rails i18n and i18next. English is complete and the
fallback; a test checks that every locale has the same keys and the same placeholders.
Translators edit YAML, never code. The catalogs are package data, read once.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh_CN")


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat key -> template mapping of one locale (nested YAML keys joined with dots)."""
    text = resources.files("podbot.locale").joinpath(f"{locale}.yaml").read_text(encoding="utf-8")
    flat: dict[str, str] = {}
    _flatten("", yaml.safe_load(text) or {}, flat)
    return flat


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


def normalize_locale(locale: str | None) -> str:
    """Map 'zh', 'zh-CN', 'zh_cn' ... to a supported locale; anything unknown to English."""
    if locale in LOCALES:  # the common case, on every message: already normalized
        return locale
    if not locale:
        return DEFAULT_LOCALE
    lowered = locale.replace("-", "_").lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    return DEFAULT_LOCALE


def t(key: str, locale: str | None = None, /, **params: Any) -> str:
    """The message ``key`` in ``locale`` (falling back to English), formatted with ``params``."""
    loc = normalize_locale(locale)
    template = catalog(loc).get(key)
    if template is None:
        template = catalog(DEFAULT_LOCALE)[key]  # a missing English key is a bug: KeyError
    return template.format(**params) if params else template
