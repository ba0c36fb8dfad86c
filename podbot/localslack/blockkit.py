"""Block Kit validation and normalization, the way Slack's servers apply them.

Slack validates blocks against its Block Kit JSON schema, whose objects all have
``additionalProperties: false``: a typo such as ``acessory`` is an error, not a no-op. Slack
does not publish that schema (slackapi/slack-api-specs#18), so this module is an equivalent
strict model written from the Block Kit reference: every block, element and composition object
with its allowed keys, required keys and limits. It depends on no client library (slack_sdk's
models drop unknown keys silently, so they cannot be the judge).

Error texts and JSON pointers are those of Slack's validator (its open-source hack-json-schema
library): ``invalid additional property: acessory [json-pointer:/blocks/0]``, ``must be less
than 3001 characters [json-pointer:/blocks/0/text/text]`` preceded by ``failed to match all
allowed schemas`` for the text object, ``unsupported type: x [json-pointer:/blocks/0/type]``.
``invalid_blocks`` answers carry them in ``errors`` and, prefixed with ``[ERROR]``, in
``response_metadata.messages``.

``normalize_blocks`` returns what Slack stores: every block gets a ``block_id`` and every
interactive element an ``action_id`` (random, as Slack assigns them).
"""

from __future__ import annotations

import copy
import functools
import secrets
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from podbot.localslack.schema import (
    Arr,
    BlockError,
    Bool,
    Int,
    Obj,
    Spec,
    Str,
    Text,
    Union,
    Walker,
)

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """Slack's Block Kit and message limits (REFERENCE.md); each can be tightened in tests."""

    message_blocks: int = 50
    modal_blocks: int = 100
    section_text: int = 3000
    section_fields: int = 10
    field_text: int = 2000
    header_text: int = 150
    context_elements: int = 10
    actions_elements: int = 25
    button_text: int = 75
    button_value: int = 2000
    url: int = 3000
    action_id: int = 255
    block_id: int = 255
    option_text: int = 75
    option_value: int = 150
    option_description: int = 75
    options: int = 100
    choice_options: int = 10  # checkboxes and radio buttons
    overflow_options: int = 5
    placeholder: int = 150
    label: int = 2000
    hint: int = 2000
    image_title: int = 2000
    confirm_title: int = 100
    confirm_text: int = 300
    confirm_button: int = 30
    alt_text: int = 2000
    markdown_block_text: int = 12000
    plain_text_input_length: int = 3000
    file_input_files: int = 10
    modal_title: int = 24
    modal_button: int = 24
    private_metadata: int = 3000
    callback_id: int = 255
    external_id: int = 255
    # Slack publishes no exact figure for msg_blocks_too_long; REFERENCE.md measured "~13k chars".
    # We count every character of every text string inside the blocks.
    blocks_total_text: int = 13_000
    # chat.postMessage truncates text beyond 40,000 characters; chat.update rejects > 4,000.
    message_text: int = 40_000
    update_text: int = 4_000


# Block types Slack has but this model does not describe: refused with a message that says so,
# never silently accepted (podbot uses none of them).
NOT_MODELLED_BLOCKS = frozenset({"rich_text", "table", "call", "context_actions"})
NOT_MODELLED_ELEMENTS = frozenset({"rich_text_input", "icon_button", "feedback_buttons"})

# --- cross-field rules ---------------------------------------------------------------------------


def _unique_action_ids(walker: Walker, block: Mapping[str, Any], pointer: str) -> None:
    seen: set[str] = set()
    for i, element in enumerate(block.get("elements") or []):
        action_id = element.get("action_id") if isinstance(element, Mapping) else None
        if isinstance(action_id, str):
            if action_id in seen:
                walker.err(f"{pointer}/elements/{i}/action_id", "action_id must be unique in the block")
            seen.add(action_id)


def _submit_with_inputs(walker: Walker, view: Mapping[str, Any], pointer: str) -> None:
    blocks = view.get("blocks")
    has_inputs = isinstance(blocks, list) and any(
        isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
    )
    if has_inputs and "submit" not in view:
        walker.err(pointer + "/submit", "submit is required when the view has input blocks")


# --- the model -----------------------------------------------------------------------------------

_STYLE = Str(enum=("primary", "danger"))
_DATE = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


@dataclass(frozen=True)
class _Model:
    message_blocks: Arr
    modal_blocks: Arr
    view: Union


@functools.cache
def _model(lim: Limits) -> _Model:
    """Slack's Block Kit schema for these limits (built once per ``Limits``)."""

    def plain(limit: int) -> Text:
        return Text(limit, ("plain_text",))

    def any_text(limit: int) -> Text:
        return Text(limit)

    def option(text: Text, *, url: bool = False) -> Obj:
        fields: dict[str, Spec] = {
            "text": text,
            "value": Str(max=lim.option_value),
            "description": Text(lim.option_description, text.kinds),
        }
        if url:
            fields["url"] = Str(max=lim.url)
        return Obj(fields, required=("text", "value"))

    action_id: dict[str, Spec] = {"action_id": Str(max=lim.action_id, min=1)}
    confirm: dict[str, Spec] = {
        "confirm": Obj(
            {
                "title": plain(lim.confirm_title),
                "text": any_text(lim.confirm_text),
                "confirm": plain(lim.confirm_button),
                "deny": plain(lim.confirm_button),
                "style": _STYLE,
            },
            required=("title", "text", "confirm", "deny"),
        )
    }
    focus: dict[str, Spec] = {"focus_on_load": Bool()}
    placeholder: dict[str, Spec] = {"placeholder": plain(lim.placeholder)}
    dispatch: dict[str, Spec] = {
        "dispatch_action_config": Obj(
            {"trigger_actions_on": Arr(Str(enum=("on_enter_pressed", "on_character_entered")), min=1)}
        )
    }
    slack_file = Obj({"url": Str(max=lim.url), "id": Str(min=1)}, any_of=("url", "id"))
    conversation_filter = Obj(
        {
            "include": Arr(Str(enum=("im", "mpim", "private", "public")), min=1),
            "exclude_external_shared_channels": Bool(),
            "exclude_bot_users": Bool(),
        }
    )
    menu_option = option(plain(lim.option_text))
    choice_option = option(any_text(lim.option_text))
    option_group = Obj(
        {"label": plain(lim.option_text), "options": Arr(menu_option, min=1, max=lim.options)},
        required=("label", "options"),
    )
    many = Arr(Str(min=1), min=1)
    most = Int(min=1)

    def select(extra: Mapping[str, Spec], *, any_of: tuple[str, ...] = ()) -> Obj:
        return Obj({"type": Str(), **action_id, **confirm, **focus, **placeholder, **extra}, any_of=any_of)

    static_choices: dict[str, Spec] = {
        "options": Arr(menu_option, min=1, max=lim.options),
        "option_groups": Arr(option_group, min=1, max=lim.options),
    }
    selects: dict[str, Obj] = {
        "static_select": select(
            {**static_choices, "initial_option": menu_option}, any_of=("options", "option_groups")
        ),
        "external_select": select({"initial_option": menu_option, "min_query_length": Int(min=0)}),
        "users_select": select({"initial_user": Str(min=1)}),
        "conversations_select": select(
            {
                "initial_conversation": Str(min=1),
                "default_to_current_conversation": Bool(),
                "response_url_enabled": Bool(),
                "filter": conversation_filter,
            }
        ),
        "channels_select": select({"initial_channel": Str(min=1), "response_url_enabled": Bool()}),
        "multi_static_select": select(
            {**static_choices, "initial_options": Arr(menu_option), "max_selected_items": most},
            any_of=("options", "option_groups"),
        ),
        "multi_external_select": select(
            {"initial_options": Arr(menu_option), "min_query_length": Int(min=0), "max_selected_items": most}
        ),
        "multi_users_select": select({"initial_users": many, "max_selected_items": most}),
        "multi_conversations_select": select(
            {
                "initial_conversations": many,
                "default_to_current_conversation": Bool(),
                "max_selected_items": most,
                "filter": conversation_filter,
            }
        ),
        "multi_channels_select": select({"initial_channels": many, "max_selected_items": most}),
    }

    def element(fields: Mapping[str, Spec], *, required: tuple[str, ...] = ()) -> Obj:
        return Obj({"type": Str(), **action_id, **fields}, required=required)

    button = element(
        {
            "text": plain(lim.button_text),
            "url": Str(max=lim.url, min=1),
            "value": Str(max=lim.button_value),
            "style": _STYLE,
            "accessibility_label": Str(max=lim.button_text, min=1),
            **confirm,
        },
        required=("text",),
    )
    choices = Arr(choice_option, min=1, max=lim.choice_options)
    checkboxes = element(
        {"options": choices, "initial_options": Arr(choice_option), **confirm, **focus},
        required=("options",),
    )
    radio_buttons = element(
        {"options": choices, "initial_option": choice_option, **confirm, **focus}, required=("options",)
    )
    datepicker = element({"initial_date": Str(pattern=_DATE), **confirm, **focus, **placeholder})
    datetimepicker = element({"initial_date_time": Int(min=0), **confirm, **focus})
    timepicker = element(
        {"initial_time": Str(pattern=_TIME), "timezone": Str(min=1), **confirm, **focus, **placeholder}
    )
    overflow = element(
        {
            "options": Arr(option(plain(lim.option_text), url=True), min=1, max=lim.overflow_options),
            **confirm,
        },
        required=("options",),
    )
    image_element = Obj(
        {
            "type": Str(),
            "image_url": Str(max=lim.url, min=1),
            "slack_file": slack_file,
            "alt_text": Str(max=lim.alt_text),
        },
        required=("alt_text",),
        any_of=("image_url", "slack_file"),
    )
    workflow_button = element(
        {
            "text": plain(lim.button_text),
            "workflow": Obj(
                {
                    "trigger": Obj(
                        {
                            "url": Str(max=lim.url, min=1),
                            "customizable_input_parameters": Arr(
                                Obj({"name": Str(min=1), "value": Str()}, required=("name", "value"))
                            ),
                        },
                        required=("url",),
                    )
                },
                required=("trigger",),
            ),
            "style": _STYLE,
            "accessibility_label": Str(max=lim.button_text, min=1),
        },
        required=("text", "workflow"),
    )
    length = Int(min=0, max=lim.plain_text_input_length)
    text_input = {"initial_value": Str(), **dispatch, **focus, **placeholder}
    inputs: dict[str, Obj] = {
        "plain_text_input": element(
            {**text_input, "multiline": Bool(), "min_length": length, "max_length": length}
        ),
        "email_text_input": element(text_input),
        "url_text_input": element(text_input),
        "number_input": element(
            {**text_input, "is_decimal_allowed": Bool(), "min_value": Str(), "max_value": Str()},
            required=("is_decimal_allowed",),
        ),
        "file_input": element(
            {"filetypes": Arr(Str(min=1)), "max_files": Int(min=1, max=lim.file_input_files)}
        ),
    }
    interactive: dict[str, Obj] = {
        "button": button,
        "checkboxes": checkboxes,
        "radio_buttons": radio_buttons,
        "datepicker": datepicker,
        "timepicker": timepicker,
        "overflow": overflow,
        "workflow_button": workflow_button,
        **selects,
    }
    accessory = Union({**interactive, "image": image_element}, NOT_MODELLED_ELEMENTS)
    action_elements = Union({**interactive, "datetimepicker": datetimepicker}, NOT_MODELLED_ELEMENTS)
    input_element = Union(
        {
            **{k: v for k, v in interactive.items() if k not in ("button", "overflow", "workflow_button")},
            "datetimepicker": datetimepicker,
            **inputs,
        },
        NOT_MODELLED_ELEMENTS,
    )
    context_text = Str(max=lim.section_text, min=1)
    context_elements = Union(
        {
            "image": image_element,
            "plain_text": Obj({"type": Str(), "text": context_text, "emoji": Bool()}, required=("text",)),
            "mrkdwn": Obj({"type": Str(), "text": context_text, "verbatim": Bool()}, required=("text",)),
        }
    )

    def block(fields: Mapping[str, Spec], **kwargs: Any) -> Obj:
        return Obj({"type": Str(), "block_id": Str(max=lim.block_id, min=1), **fields}, **kwargs)

    blocks = Union(
        {
            "section": block(
                {
                    "text": any_text(lim.section_text),
                    "fields": Arr(any_text(lim.field_text), min=1, max=lim.section_fields),
                    "accessory": accessory,
                    "expand": Bool(),
                },
                any_of=("text", "fields"),
            ),
            "divider": block({}),
            "header": block({"text": plain(lim.header_text)}, required=("text",)),
            "image": block(
                {
                    "image_url": Str(max=lim.url, min=1),
                    "slack_file": slack_file,
                    "alt_text": Str(max=lim.alt_text),
                    "title": plain(lim.image_title),
                },
                required=("alt_text",),
                any_of=("image_url", "slack_file"),
            ),
            "actions": block(
                {"elements": Arr(action_elements, min=1, max=lim.actions_elements)},
                required=("elements",),
                check=_unique_action_ids,
            ),
            "context": block(
                {"elements": Arr(context_elements, min=1, max=lim.context_elements)}, required=("elements",)
            ),
            "input": block(
                {
                    "label": plain(lim.label),
                    "element": input_element,
                    "dispatch_action": Bool(),
                    "hint": plain(lim.hint),
                    "optional": Bool(),
                },
                required=("label", "element"),
            ),
            "file": block(
                {"external_id": Str(min=1), "source": Str(enum=("remote",))},
                required=("external_id", "source"),
            ),
            "markdown": block({"text": Str(max=lim.markdown_block_text, min=1)}, required=("text",)),
            "video": block(
                {
                    "alt_text": Str(min=1),
                    "title": plain(200),
                    "title_url": Str(min=1),
                    "thumbnail_url": Str(min=1),
                    "video_url": Str(min=1),
                    "author_name": Str(max=50),
                    "description": plain(200),
                    "provider_icon_url": Str(min=1),
                    "provider_name": Str(max=50),
                },
                required=("alt_text", "title", "thumbnail_url", "video_url"),
            ),
        },
        NOT_MODELLED_BLOCKS,
    )
    message_blocks = Arr(blocks, max=lim.message_blocks)
    modal_blocks = Arr(blocks, max=lim.modal_blocks)
    view_common: dict[str, Spec] = {
        "type": Str(),
        "blocks": modal_blocks,
        "private_metadata": Str(max=lim.private_metadata),
        "callback_id": Str(max=lim.callback_id),
        "external_id": Str(max=lim.external_id),
    }
    view = Union(
        {
            "modal": Obj(
                {
                    **view_common,
                    "title": plain(lim.modal_title),
                    "close": plain(lim.modal_button),
                    "submit": plain(lim.modal_button),
                    "clear_on_close": Bool(),
                    "notify_on_close": Bool(),
                    "submit_disabled": Bool(),
                },
                required=("title", "blocks"),
                check=_submit_with_inputs,
            ),
            "home": Obj(view_common, required=("blocks",)),
        }
    )
    return _Model(message_blocks, modal_blocks, view)


def _unique_block_ids(walker: Walker, blocks: Any, pointer: str) -> None:
    if not isinstance(blocks, list):
        return
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        block_id = block.get("block_id") if isinstance(block, Mapping) else None
        if isinstance(block_id, str):
            if block_id in seen:
                walker.err(f"{pointer}/{i}/block_id", "block_id must be unique")
            seen.add(block_id)


def validate_blocks(
    blocks: Any, limits: Limits, *, modal: bool = False, pointer: str = "/blocks"
) -> list[BlockError]:
    """Schema and limit errors for a message's (or modal's) ``blocks``; empty when valid."""
    model = _model(limits)
    walker = Walker()
    walker.check(blocks, model.modal_blocks if modal else model.message_blocks, pointer)
    _unique_block_ids(walker, blocks, pointer)
    return walker.errors


def validate_view(view: Any, limits: Limits) -> list[BlockError]:
    """Errors for a ``view`` argument of views.open/update/push (modal or home).

    Slack's view schema is an allOf, so any error comes after ``failed to match all allowed
    schemas [json-pointer:/view]``.
    """
    walker = Walker()
    walker.check(view, _model(limits).view, "/view")
    if isinstance(view, Mapping):
        _unique_block_ids(walker, view.get("blocks"), "/view/blocks")
    if walker.errors:
        return [BlockError("/view", "failed to match all allowed schemas"), *walker.errors]
    return []


# --- what Slack stores ---------------------------------------------------------------------------

_TEXT_KEYS = frozenset(
    {
        "text",
        "fields",
        "elements",
        "accessory",
        "label",
        "hint",
        "title",
        "rows",
        "placeholder",
        "options",
        "element",
        "alt_text",
    }
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in _TEXT_KEYS:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def blocks_text_length(blocks: Sequence[Any]) -> int:
    """Characters of visible text in the blocks (what msg_blocks_too_long counts, roughly)."""
    return sum(len(s) for s in _strings(list(blocks)))


_ID_ALPHABET = string.ascii_letters + string.digits


def _random_id(size: int = 5) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(size))


def normalize_blocks(blocks: Sequence[Any]) -> list[JsonDict]:
    """A stored copy of valid blocks: ids filled in, text objects flagged as Slack stores them."""
    out: list[JsonDict] = copy.deepcopy([dict(b) for b in blocks])
    for block in out:
        block.setdefault("block_id", _random_id())
        for element in _interactive_elements(block):
            element.setdefault("action_id", _random_id())
        _flag_text(block)
    return out


def _interactive_elements(block: JsonDict) -> Iterator[JsonDict]:
    if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") != "image":
        yield block["accessory"]
    if block.get("type") == "actions":
        yield from (e for e in block.get("elements") or [] if isinstance(e, dict))
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        yield block["element"]


def _flag_text(value: Any) -> None:
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            value.setdefault("verbatim", False)
        elif value.get("type") == "plain_text" and isinstance(value.get("text"), str):
            value.setdefault("emoji", True)
        for item in value.values():
            _flag_text(item)
    elif isinstance(value, list):
        for item in value:
            _flag_text(item)
