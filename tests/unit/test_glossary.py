"""The Chinese catalog against its glossary (podbot/locale/zh_CN.glossary.yaml): one rendering per
term, full-width punctuation in Chinese sentences, a space between Chinese and Latin text."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml

from podbot.core.i18n import catalog

HAN = "[\u4e00-\u9fff]"
GLOSSARY: dict[str, Any] = yaml.safe_load(
    resources.files("podbot.locale").joinpath("zh_CN.glossary.yaml").read_text(encoding="utf-8")
)
TEXT_PLACEHOLDERS = frozenset(GLOSSARY["text_placeholders"])


def prose(template: str) -> str:
    """What a reader reads as Chinese text: no code, no command lines, no Slack markup; a
    placeholder that holds a name or number becomes "N", one that holds text disappears."""
    text = re.sub(r"```.*?```", " ", template, flags=re.DOTALL)
    text = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("/pod"))
    text = re.sub(r"`[^`\n]*`", "C", text)  # a code span reads like a word
    text = re.sub(r"<[^<>\n]*>", "N", text)  # <@U1>, <!date^...>
    text = re.sub(r":[a-z0-9_+-]+:", " ", text)  # emoji shortcodes
    text = re.sub(r"\{\{|\}\}", " ", text)
    return re.sub(r"\{(\w+)\}", lambda m: "" if m.group(1) in TEXT_PLACEHOLDERS else "N", text)


ZH = {key: prose(value) for key, value in catalog("zh_CN").items()}
TERMS = [(term["zh"], pattern) for term in GLOSSARY["terms"] for pattern in term.get("avoid", ())]


def offenders(pattern: str) -> list[str]:
    found = re.compile(pattern)
    return [f"{key}: {ZH[key]!r}" for key in sorted(ZH) if found.search(ZH[key])]


@pytest.mark.parametrize(("term", "avoid"), TERMS, ids=[f"{t}-{a}" for t, a in TERMS])
def test_each_term_has_one_rendering(term: str, avoid: str) -> None:
    assert offenders(avoid) == [], f"write {term!r}"


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        ("full-width colon after Chinese", HAN + r":"),
        ("full-width comma, semicolon, question and exclamation marks", HAN + r"[,;?!]"),
        ("full-width parentheses", HAN + r"\(|\)" + HAN),
        ("a space between Chinese and Latin text", HAN + r"[A-Za-z0-9]|[A-Za-z0-9]" + HAN),
    ],
)
def test_typography(rule: str, pattern: str) -> None:
    assert offenders(pattern) == [], rule


def test_the_checks_see_what_they_are_meant_to() -> None:
    """The prose filter keeps what a reader sees and drops only code and markup."""
    assert prose("找不到 pod：{names}") == "找不到 pod：N"
    assert prose("请用 `/pod get pods` 或 {suggestion}") == "请用 C 或 "
    assert re.search(r"[A-Za-z0-9]" + HAN, prose("{what}名称 {name}个"))  # "N个": no space
