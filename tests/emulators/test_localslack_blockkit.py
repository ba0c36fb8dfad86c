"""podbot.localslack.blockkit: Slack's Block Kit limits and schema errors (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.localslack.blockkit import (
    Limits,
    blocks_text_length,
    error_body,
    normalize_blocks,
    validate_blocks,
    validate_view,
)

LIMITS = Limits()


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


VALID = [
    section("x" * 3000),
    {"type": "section", "fields": [plain("y" * 2000)] * 10},
    {"type": "header", "text": plain("h" * 150)},
    {"type": "divider"},
    actions(button("b" * 75, value="v" * 2000, action_id="a" * 255)),
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
    {"type": "image", "image_url": "https://example.com/x.png", "alt_text": "x"},
]


@pytest.mark.parametrize("block", VALID, ids=lambda b: b["type"])
def test_valid_blocks_pass(block: dict[str, Any]) -> None:
    assert validate_blocks([block], LIMITS) == []


@pytest.mark.parametrize(
    ("blocks", "pointer", "message"),
    [
        ([section("x" * 3001)], "/blocks/0/text/text", "must be less than 3001 characters"),
        ([section("")], "/blocks/0/text/text", "must be more than 0 characters"),
        ([{"type": "section"}], "/blocks/0", "must provide text or fields"),
        (
            [{"type": "section", "fields": [plain("f")] * 11}],
            "/blocks/0/fields",
            "no more than 10 items allowed",
        ),
        (
            [{"type": "section", "fields": [plain("f" * 2001)]}],
            "/blocks/0/fields/0/text",
            "must be less than 2001 characters",
        ),
        (
            [{"type": "header", "text": plain("h" * 151)}],
            "/blocks/0/text/text",
            "must be less than 151 characters",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
            "/blocks/0/text/type",
            "must be a valid enum value",
        ),
        ([actions(button("b" * 76))], "/blocks/0/elements/0/text/text", "must be less than 76 characters"),
        (
            [actions(button(value="v" * 2001))],
            "/blocks/0/elements/0/value",
            "must be less than 2001 characters",
        ),
        (
            [actions(button(action_id="a" * 256))],
            "/blocks/0/elements/0/action_id",
            "must be less than 256 characters",
        ),
        ([actions(button(style="loud"))], "/blocks/0/elements/0/style", "must be a valid enum value"),
        (
            [actions(button(action_id="x"), button(action_id="x"))],
            "/blocks/0/elements/1/action_id",
            "action_id must be unique in the block",
        ),
        ([{**section("s"), "block_id": "b" * 256}], "/blocks/0/block_id", "must be less than 256 characters"),
        (
            [{**section("s"), "block_id": "same"}, {**section("t"), "block_id": "same"}],
            "/blocks/1/block_id",
            "block_id must be unique",
        ),
        ([section("s")] * 51, "/blocks", "no more than 50 items allowed"),
        ([{"type": "mystery"}], "/blocks/0", "failed to match all allowed schemas"),
        (["not an object"], "/blocks/0", "must provide an object"),
        ("not a list", "/blocks", "must provide an array"),
        (
            [{"type": "actions", "elements": []}],
            "/blocks/0/elements",
            "must provide an array with at least 1 item",
        ),
        (
            [{"type": "context", "elements": [plain("c")] * 11}],
            "/blocks/0/elements",
            "no more than 10 items allowed",
        ),
        (
            [
                actions(
                    button(
                        confirm={
                            "title": plain("t" * 101),
                            "text": plain("x"),
                            "confirm": plain("y"),
                            "deny": plain("n"),
                        }
                    )
                )
            ],
            "/blocks/0/elements/0/confirm/title/text",
            "must be less than 101 characters",
        ),
        (
            [
                {
                    "type": "input",
                    "label": plain("l"),
                    "element": {"type": "plain_text_input", "action_id": "p", "max_length": 3001},
                }
            ],
            "/blocks/0/element/max_length",
            "must be less than 3001",
        ),
        ([{"type": "image", "image_url": "x"}], "/blocks/0/alt_text", "missing required field"),
    ],
)
def test_invalid_blocks(blocks: Any, pointer: str, message: str) -> None:
    errors = validate_blocks(blocks, LIMITS)
    assert any(e.pointer == pointer and e.message == message for e in errors), errors


def test_modal_allows_100_blocks_not_101() -> None:
    assert validate_blocks([section("s")] * 100, LIMITS, modal=True) == []
    assert [str(e) for e in validate_blocks([section("s")] * 101, LIMITS, modal=True)] == [
        "no more than 100 items allowed [json-pointer:/blocks]"
    ]


def test_slack_sdk_models_catch_what_the_walker_does_not() -> None:
    # A datepicker's initial_date format: slack_sdk's model knows it, the walker does not.
    picker = {"type": "datepicker", "action_id": "d", "initial_date": "tomorrow"}
    errors = validate_blocks([actions(picker)], LIMITS)
    assert [str(e) for e in errors] == [
        "initial_date attribute must be in format 'YYYY-MM-DD' [json-pointer:/blocks/0]"
    ]
    assert validate_blocks([actions({**picker, "initial_date": "2025-01-31"})], LIMITS) == []


def test_error_body_has_slack_shape() -> None:
    errors = validate_blocks([section("x" * 3001)], LIMITS)
    assert error_body("invalid_blocks", errors) == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
        "response_metadata": {
            "messages": ["[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
        },
    }


def modal(**extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Create pod"), "blocks": [section("s")], **extra}


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal(title=plain("t" * 25)), "/view/title/text"),
        (modal(submit=plain("s" * 25)), "/view/submit/text"),
        (modal(private_metadata="m" * 3001), "/view/private_metadata"),
        (modal(callback_id="c" * 256), "/view/callback_id"),
        (modal(blocks=[section("s")] * 101), "/view/blocks"),
        (modal(type="dialog"), "/view/type"),
        ({"type": "modal", "blocks": []}, "/view/title"),
        (
            modal(
                blocks=[
                    {
                        "type": "input",
                        "label": plain("x"),
                        "element": {"type": "plain_text_input", "action_id": "a"},
                    }
                ]
            ),
            "/view/submit",
        ),
    ],
)
def test_invalid_views(view: dict[str, Any], pointer: str) -> None:
    assert any(e.pointer == pointer for e in validate_view(view, LIMITS)), validate_view(view, LIMITS)


def test_valid_view() -> None:
    view = modal(
        title=plain("t" * 24),
        private_metadata="m" * 3000,
        submit=plain("Create"),
        blocks=[
            {
                "type": "input",
                "label": plain("YAML"),
                "element": {"type": "plain_text_input", "action_id": "y", "max_length": 3000},
            }
        ],
    )
    assert validate_view(view, LIMITS) == []


def test_normalize_fills_ids_and_flags_text_like_slack() -> None:
    stored = normalize_blocks([section("hi"), actions(button("Go"), button("Stop", action_id="stop"))])
    assert all(b["block_id"] for b in stored)
    first, second = stored[1]["elements"]
    assert first["action_id"] and second["action_id"] == "stop"
    assert stored[0]["text"]["verbatim"] is False
    assert first["text"]["emoji"] is True


def test_blocks_text_length_counts_visible_text() -> None:
    blocks = [
        section("abc"),
        {"type": "section", "fields": [plain("de")]},
        actions(button("fg", value="not counted")),
    ]
    assert blocks_text_length(blocks) == 7
