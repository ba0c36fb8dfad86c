"""podbot.localslack.blockkit: Slack's Block Kit schema, limits and error texts (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.localslack.blockkit import (
    Limits,
    blocks_text_length,
    normalize_blocks,
    validate_blocks,
    validate_view,
)
from podbot.localslack.schema import error_body

LIMITS = Limits()


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def plain(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, **extra}


def option(text: str = "o", value: str = "v", **extra: Any) -> dict[str, Any]:
    return {"text": plain(text), "value": value, **extra}


def confirm(**extra: Any) -> dict[str, Any]:
    return {
        "title": plain("Sure?"),
        "text": plain("Really"),
        "confirm": plain("Yes"),
        "deny": plain("No"),
        **extra,
    }


def input_block(element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "input", "label": plain("l"), "element": element, **extra}


# Every block and element podbot sends, plus the other common ones, at their limits.
VALID = [
    section("x" * 3000),
    section("s", block_id="b" * 255, expand=True),
    {"type": "section", "fields": [plain("y" * 2000)] * 10},
    section("s", accessory=button("b", action_id="a", value="v", style="danger", confirm=confirm())),
    section("s", accessory={"type": "image", "image_url": "https://example.com/x.png", "alt_text": "x"}),
    section("s", accessory={"type": "overflow", "options": [option(url="https://example.com")] * 5}),
    {"type": "header", "text": plain("h" * 150, emoji=True)},
    {"type": "divider", "block_id": "d"},
    actions(button("b" * 75, value="v" * 2000, action_id="a" * 255, url="https://example.com")),
    actions({"type": "static_select", "options": [option()] * 100, "initial_option": option()}),
    actions({"type": "static_select", "option_groups": [{"label": plain("g"), "options": [option()]}]}),
    actions({"type": "users_select", "placeholder": plain("who"), "initial_user": "U1"}),
    actions(
        {"type": "datepicker", "initial_date": "2025-01-31"}, {"type": "timepicker", "initial_time": "23:59"}
    ),
    actions({"type": "checkboxes", "options": [option()] * 10, "initial_options": [option()]}),
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "c", "verbatim": True}] * 10},
    {"type": "context", "elements": [{"type": "image", "image_url": "https://x/y.png", "alt_text": "i"}]},
    {"type": "image", "image_url": "https://example.com/x.png", "alt_text": "x", "title": plain("t")},
    {"type": "markdown", "text": "**bold**" * 1500},
    input_block(
        {
            "type": "plain_text_input",
            "action_id": "p",
            "multiline": True,
            "max_length": 3000,
            "min_length": 0,
        },
        optional=True,
        hint=plain("h"),
        block_id="in",
    ),
    input_block({"type": "file_input", "action_id": "f", "filetypes": ["yaml"], "max_files": 1}),
    input_block({"type": "number_input", "is_decimal_allowed": False, "min_value": "1"}),
]


@pytest.mark.parametrize("block", VALID, ids=lambda b: b["type"])
def test_valid_blocks_pass(block: dict[str, Any]) -> None:
    assert validate_blocks([block], LIMITS) == []


# (blocks, [the errors Slack reports, as "message [json-pointer:...]"])
INVALID: list[tuple[Any, list[str]]] = [
    # unknown keys, at every level: Slack's schema objects have additionalProperties: false
    (
        [{"type": "section", "text": plain("s"), "acessory": button()}],
        ["invalid additional property: acessory [json-pointer:/blocks/0]"],
    ),
    (
        [{"type": "divider", "text": plain("x")}],
        ["invalid additional property: text [json-pointer:/blocks/0]"],
    ),
    (
        [actions(button(colour="red"))],
        ["invalid additional property: colour [json-pointer:/blocks/0/elements/0]"],
    ),
    (
        [section("s", accessory=button(confirm=confirm(titel=plain("t"))))],
        ["invalid additional property: titel [json-pointer:/blocks/0/accessory/confirm]"],
    ),
    (
        [actions({"type": "static_select", "options": [option(descripton=plain("d"))]})],
        ["invalid additional property: descripton [json-pointer:/blocks/0/elements/0/options/0]"],
    ),
    (
        [section("s", accessory={"type": "button", "text": plain("b", verbatim=True)})],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/accessory/text]",
            "invalid additional property: verbatim [json-pointer:/blocks/0/accessory/text]",
        ],
    ),
    (
        [input_block({"type": "plain_text_input", "max_lenght": 10})],
        ["invalid additional property: max_lenght [json-pointer:/blocks/0/element]"],
    ),
    # limits
    (
        [section("x" * 3001)],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ],
    ),
    (
        [section("")],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ],
    ),
    ([{"type": "section"}], ["missing required field: text [json-pointer:/blocks/0]"]),
    (
        [{"type": "section", "fields": [plain("f")] * 11}],
        ["no more than 10 items allowed [json-pointer:/blocks/0/fields]"],
    ),
    (
        [{"type": "section", "fields": [plain("f" * 2001)]}],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/fields/0]",
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ],
    ),
    (
        [{"type": "header", "text": plain("h" * 151)}],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ],
    ),
    (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "must be a valid enum value [json-pointer:/blocks/0/text/type]",
        ],
    ),
    (
        [{"type": "section", "text": {"type": "markdown", "text": "s"}}],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "unsupported type: markdown [json-pointer:/blocks/0/text/type]",
        ],
    ),
    (
        [actions(button("b" * 76))],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/elements/0/text]",
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ],
    ),
    (
        [actions(button(value="v" * 2001))],
        ["must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"],
    ),
    (
        [actions(button(action_id="a" * 256))],
        ["must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]"],
    ),
    (
        [actions(button(style="loud"))],
        ["must be a valid enum value [json-pointer:/blocks/0/elements/0/style]"],
    ),
    ([actions(button(style=None))], ["must provide a string [json-pointer:/blocks/0/elements/0/style]"]),
    (
        [actions(button(action_id="x"), button(action_id="x"))],
        ["action_id must be unique in the block [json-pointer:/blocks/0/elements/1/action_id]"],
    ),
    (
        [section("s", block_id="b" * 256)],
        ["must be less than 256 characters [json-pointer:/blocks/0/block_id]"],
    ),
    (
        [section("s", block_id="same"), section("t", block_id="same")],
        ["block_id must be unique [json-pointer:/blocks/1/block_id]"],
    ),
    ([section("s")] * 51, ["no more than 50 items allowed [json-pointer:/blocks]"]),
    ([{"type": "mystery"}], ["unsupported type: mystery [json-pointer:/blocks/0/type]"]),
    ([{"text": plain("no type")}], ["missing required field: type [json-pointer:/blocks/0]"]),
    (
        [{"type": "rich_text", "elements": []}],
        ["unsupported type: rich_text (not modelled by podbot.localslack) [json-pointer:/blocks/0/type]"],
    ),
    (["not an object"], ["must provide an object [json-pointer:/blocks/0]"]),
    ("not a list", ["must provide an array [json-pointer:/blocks]"]),
    (
        [{"type": "actions", "elements": []}],
        ["must provide at least 1 items [json-pointer:/blocks/0/elements]"],
    ),
    (
        [{"type": "context", "elements": [plain("c")] * 11}],
        ["no more than 10 items allowed [json-pointer:/blocks/0/elements]"],
    ),
    (
        [actions(button(confirm=confirm(title=plain("t" * 101))))],
        [
            "failed to match all allowed schemas [json-pointer:/blocks/0/elements/0/confirm/title]",
            "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]",
        ],
    ),
    (
        [actions(button(confirm={"title": plain("t"), "text": plain("x")}))],
        [
            "missing required field: confirm [json-pointer:/blocks/0/elements/0/confirm]",
            "missing required field: deny [json-pointer:/blocks/0/elements/0/confirm]",
        ],
    ),
    (
        [input_block({"type": "plain_text_input", "action_id": "p", "max_length": 3001})],
        ["must be less than 3000 [json-pointer:/blocks/0/element/max_length]"],  # Slack's wording
    ),
    (
        [{"type": "image", "image_url": "x"}],
        ["missing required field: alt_text [json-pointer:/blocks/0]"],
    ),
    (
        [section("s", accessory={"type": "image"})],
        [
            "missing required field: alt_text [json-pointer:/blocks/0/accessory]",
            "missing required field: image_url [json-pointer:/blocks/0/accessory]",
        ],
    ),
    # an element where Slack does not allow it
    (
        [section("s", accessory={"type": "plain_text_input"})],
        ["unsupported type: plain_text_input [json-pointer:/blocks/0/accessory/type]"],
    ),
    (
        [input_block(button())],
        ["unsupported type: button [json-pointer:/blocks/0/element/type]"],
    ),
    (
        [actions({"type": "datepicker", "initial_date": "tomorrow"})],
        [
            "input must match regex pattern: ^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$"
            " [json-pointer:/blocks/0/elements/0/initial_date]"
        ],
    ),
    (
        [actions({"type": "overflow", "options": [option()] * 6})],
        ["no more than 5 items allowed [json-pointer:/blocks/0/elements/0/options]"],
    ),
    (
        [actions({"type": "static_select", "options": [option(value="v" * 151)]})],
        ["must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]"],
    ),
    (
        [actions({"type": "static_select", "placeholder": plain("p")})],
        ["missing required field: options [json-pointer:/blocks/0/elements/0]"],
    ),
    (
        [input_block({"type": "plain_text_input"}, optional="yes")],
        ["must be a boolean [json-pointer:/blocks/0/optional]"],
    ),
]


@pytest.mark.parametrize(("blocks", "expected"), INVALID, ids=lambda v: str(v)[:60])
def test_invalid_blocks(blocks: Any, expected: list[str]) -> None:
    assert [str(e) for e in validate_blocks(blocks, LIMITS)] == expected


def test_modal_allows_100_blocks_not_101() -> None:
    assert validate_blocks([section("s")] * 100, LIMITS, modal=True) == []
    assert [str(e) for e in validate_blocks([section("s")] * 101, LIMITS, modal=True)] == [
        "no more than 100 items allowed [json-pointer:/blocks]"
    ]


def test_tightened_limits_apply() -> None:
    tight = Limits(section_text=10, message_blocks=2)
    assert validate_blocks([section("x" * 10)] * 2, tight) == []
    assert [e.pointer for e in validate_blocks([section("x" * 11)] * 3, tight)] == [
        "/blocks",
        "/blocks/0/text",
        "/blocks/0/text/text",
        "/blocks/1/text",
        "/blocks/1/text/text",
        "/blocks/2/text",
        "/blocks/2/text/text",
    ]


def test_error_body_has_slack_shape() -> None:
    errors = validate_blocks([section("s", acessory=button())], LIMITS)
    assert error_body("invalid_blocks", errors) == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": ["invalid additional property: acessory [json-pointer:/blocks/0]"],
        "response_metadata": {
            "messages": ["[ERROR] invalid additional property: acessory [json-pointer:/blocks/0]"]
        },
    }


def modal(**extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Create pod"), "blocks": [section("s")], **extra}


TEXT_INPUT = input_block({"type": "plain_text_input", "action_id": "a"})


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (
            modal(title=plain("t" * 25)),
            [
                "failed to match all allowed schemas [json-pointer:/view/title]",
                "must be less than 25 characters [json-pointer:/view/title/text]",
            ],
        ),
        (
            modal(submit=plain("s" * 25)),
            [
                "failed to match all allowed schemas [json-pointer:/view/submit]",
                "must be less than 25 characters [json-pointer:/view/submit/text]",
            ],
        ),
        (
            modal(private_metadata="m" * 3001),
            ["must be less than 3001 characters [json-pointer:/view/private_metadata]"],
        ),
        (modal(callback_id="c" * 256), ["must be less than 256 characters [json-pointer:/view/callback_id]"]),
        (modal(blocks=[section("s")] * 101), ["no more than 100 items allowed [json-pointer:/view/blocks]"]),
        (modal(type="dialog"), ["unsupported type: dialog [json-pointer:/view/type]"]),
        ({"type": "modal", "blocks": []}, ["missing required field: title [json-pointer:/view]"]),
        (modal(titel=plain("x")), ["invalid additional property: titel [json-pointer:/view]"]),
        (
            modal(blocks=[TEXT_INPUT]),
            ["submit is required when the view has input blocks [json-pointer:/view/submit]"],
        ),
        (
            modal(blocks=[section("s", acessory=button())]),
            ["invalid additional property: acessory [json-pointer:/view/blocks/0]"],
        ),
    ],
)
def test_invalid_views(view: dict[str, Any], expected: list[str]) -> None:
    # Slack's view schema is an allOf: every failure starts with a line for the view itself.
    assert [str(e) for e in validate_view(view, LIMITS)] == [
        "failed to match all allowed schemas [json-pointer:/view]",
        *expected,
    ]


def test_valid_view() -> None:
    view = modal(
        title=plain("t" * 24),
        private_metadata="m" * 3000,
        submit=plain("Create"),
        close=plain("Cancel"),
        callback_id="c",
        external_id="e",
        notify_on_close=True,
        clear_on_close=False,
        blocks=[
            input_block({"type": "plain_text_input", "action_id": "y", "max_length": 3000}),
        ],
    )
    assert validate_view(view, LIMITS) == []
    assert validate_view({"type": "home", "blocks": [section("s")]}, LIMITS) == []


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
