"""Block Kit validation and normalization, the way Slack's servers apply them.

Two passes, like Slack's own schema check: an explicit walker enforces the hard limits with
Slack-style messages and JSON pointers (``must be less than 3001 characters
[json-pointer:/blocks/0/text/text]``), then every block the walker accepted is parsed and
validated by ``slack_sdk.models`` (the library's own schema knowledge). ``invalid_blocks``
responses carry the messages in ``errors`` and, prefixed with ``[ERROR]``, in
``response_metadata.messages``, as Slack does.

``normalize_blocks`` returns what Slack stores: every block gets a ``block_id`` and every
interactive element an ``action_id`` (random, as Slack assigns them), so ``block_actions``
payloads always carry both.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as SdkView

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
    options: int = 100
    placeholder: int = 150
    label: int = 2000
    hint: int = 2000
    confirm_title: int = 100
    confirm_text: int = 300
    confirm_button: int = 30
    alt_text: int = 2000
    markdown_block_text: int = 12000
    plain_text_input_length: int = 3000
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


@dataclass(frozen=True)
class BlockError:
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [json-pointer:{self.pointer}]"


def error_body(code: str, errors: Sequence[BlockError]) -> JsonDict:
    """Slack's response for a schema failure: ``errors`` plus ``response_metadata.messages``."""
    texts = [str(e) for e in errors]
    return {
        "ok": False,
        "error": code,
        "errors": texts,
        "response_metadata": {"messages": [f"[ERROR] {t}" for t in texts]},
    }


_BLOCK_TYPES = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "file",
        "header",
        "video",
        "rich_text",
        "markdown",
        "table",
        "call",
    }
)
_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
_ELEMENT_TYPES = _SELECTS | frozenset(
    {
        "button",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "file_input",
        "image",
        "workflow_button",
        "rich_text_input",
    }
)


def _too_long(limit: int) -> str:
    return f"must be less than {limit + 1} characters"


class _Walker:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.errors: list[BlockError] = []

    def err(self, pointer: str, message: str) -> None:
        self.errors.append(BlockError(pointer, message))

    def string(self, value: Any, pointer: str, limit: int, *, required: bool = True) -> None:
        if value is None:
            if required:
                self.err(pointer, "missing required field")
            return
        if not isinstance(value, str):
            self.err(pointer, "must be a string")
        elif len(value) > limit:
            self.err(pointer, _too_long(limit))
        elif required and not value:
            self.err(pointer, "must be more than 0 characters")

    def text(
        self, obj: Any, pointer: str, limit: int, *, plain_only: bool = False, required: bool = True
    ) -> None:
        if obj is None:
            if required:
                self.err(pointer, "missing required field")
            return
        if not isinstance(obj, Mapping):
            self.err(pointer, "must provide an object")
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.err(pointer + "/type", "must be a valid enum value")
        self.string(obj.get("text"), pointer + "/text", limit)

    def ident(self, value: Any, pointer: str, limit: int) -> None:
        if value is not None:
            self.string(value, pointer, limit)

    def confirm(self, obj: Any, pointer: str) -> None:
        if obj is None:
            return
        if not isinstance(obj, Mapping):
            self.err(pointer, "must provide an object")
            return
        lim = self.limits
        self.text(obj.get("title"), pointer + "/title", lim.confirm_title, plain_only=True)
        self.text(obj.get("text"), pointer + "/text", lim.confirm_text)
        self.text(obj.get("confirm"), pointer + "/confirm", lim.confirm_button, plain_only=True)
        self.text(obj.get("deny"), pointer + "/deny", lim.confirm_button, plain_only=True)

    def options(
        self, options: Any, pointer: str, *, min_count: int = 1, max_count: int | None = None
    ) -> None:
        if options is None:
            return
        if not isinstance(options, list):
            self.err(pointer, "must provide an array")
            return
        most = max_count or self.limits.options
        if not min_count <= len(options) <= most:
            self.err(pointer, f"must have between {min_count} and {most} items")
        for i, option in enumerate(options):
            p = f"{pointer}/{i}"
            if not isinstance(option, Mapping):
                self.err(p, "must provide an object")
                continue
            self.text(option.get("text"), p + "/text", self.limits.option_text)
            self.string(option.get("value"), p + "/value", self.limits.option_value)

    def element(self, el: Any, pointer: str) -> None:
        lim = self.limits
        if not isinstance(el, Mapping):
            self.err(pointer, "must provide an object")
            return
        kind = el.get("type")
        if kind not in _ELEMENT_TYPES:
            self.err(pointer + "/type", f"unsupported element type: {kind}")
            return
        self.ident(el.get("action_id"), pointer + "/action_id", lim.action_id)
        self.confirm(el.get("confirm"), pointer + "/confirm")
        if kind in ("button", "workflow_button"):
            self.text(el.get("text"), pointer + "/text", lim.button_text, plain_only=True)
            if el.get("value") is not None:
                self.string(el.get("value"), pointer + "/value", lim.button_value)
            if el.get("url") is not None:
                self.string(el.get("url"), pointer + "/url", lim.url)
            if el.get("style") is not None and el.get("style") not in ("primary", "danger"):
                self.err(pointer + "/style", "must be a valid enum value")
        elif kind == "image":
            self.string(el.get("alt_text"), pointer + "/alt_text", lim.alt_text)
        elif kind == "plain_text_input":
            for key in ("max_length", "min_length"):
                value = el.get(key)
                if value is None:
                    continue
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    self.err(f"{pointer}/{key}", "must be a non-negative integer")
                elif value > lim.plain_text_input_length:
                    self.err(f"{pointer}/{key}", f"must be less than {lim.plain_text_input_length + 1}")
            if el.get("initial_value") is not None:
                self.string(
                    el.get("initial_value"),
                    pointer + "/initial_value",
                    lim.plain_text_input_length,
                    required=False,
                )
        elif kind == "overflow":
            self.options(el.get("options"), pointer + "/options", min_count=1, max_count=5)
        elif kind in _SELECTS or kind in ("checkboxes", "radio_buttons"):
            self.options(el.get("options"), pointer + "/options")
        if el.get("placeholder") is not None:
            self.text(el.get("placeholder"), pointer + "/placeholder", lim.placeholder, plain_only=True)

    def elements(self, block: Mapping[str, Any], pointer: str, limit: int) -> list[Any]:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err(pointer + "/elements", "must provide an array with at least 1 item")
            return []
        if len(elements) > limit:
            self.err(pointer + "/elements", f"no more than {limit} items allowed")
        return elements

    def block(self, block: Any, pointer: str) -> None:
        lim = self.limits
        if not isinstance(block, Mapping):
            self.err(pointer, "must provide an object")
            return
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.err(pointer, "failed to match all allowed schemas")
            self.err(pointer + "/type", f"unsupported block type: {kind}")
            return
        self.ident(block.get("block_id"), pointer + "/block_id", lim.block_id)
        if kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                self.err(pointer, "must provide text or fields")
            if block.get("text") is not None:
                self.text(block.get("text"), pointer + "/text", lim.section_text)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list):
                    self.err(pointer + "/fields", "must provide an array")
                else:
                    if len(fields) > lim.section_fields:
                        self.err(pointer + "/fields", f"no more than {lim.section_fields} items allowed")
                    for i, item in enumerate(fields):
                        self.text(item, f"{pointer}/fields/{i}", lim.field_text)
            if block.get("accessory") is not None:
                self.element(block.get("accessory"), pointer + "/accessory")
        elif kind == "header":
            self.text(block.get("text"), pointer + "/text", lim.header_text, plain_only=True)
        elif kind == "context":
            for i, el in enumerate(self.elements(block, pointer, lim.context_elements)):
                p = f"{pointer}/elements/{i}"
                if isinstance(el, Mapping) and el.get("type") == "image":
                    self.string(el.get("alt_text"), p + "/alt_text", lim.alt_text)
                else:
                    self.text(el, p, lim.section_text)
        elif kind == "actions":
            seen: set[str] = set()
            for i, el in enumerate(self.elements(block, pointer, lim.actions_elements)):
                self.element(el, f"{pointer}/elements/{i}")
                action_id = el.get("action_id") if isinstance(el, Mapping) else None
                if isinstance(action_id, str):
                    if action_id in seen:
                        self.err(f"{pointer}/elements/{i}/action_id", "action_id must be unique in the block")
                    seen.add(action_id)
        elif kind == "input":
            self.text(block.get("label"), pointer + "/label", lim.label, plain_only=True)
            if block.get("hint") is not None:
                self.text(block.get("hint"), pointer + "/hint", lim.hint, plain_only=True)
            self.element(block.get("element"), pointer + "/element")
        elif kind == "image":
            self.string(block.get("alt_text"), pointer + "/alt_text", lim.alt_text)
            if block.get("image_url") is not None:
                self.string(block.get("image_url"), pointer + "/image_url", lim.url)
        elif kind == "markdown":
            self.string(block.get("text"), pointer + "/text", lim.markdown_block_text)

    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.err(pointer, "must provide an array")
            return
        if len(blocks) > limit:
            self.err(pointer, f"no more than {limit} items allowed")
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            before = len(self.errors)
            self.block(block, f"{pointer}/{i}")
            block_id = block.get("block_id") if isinstance(block, Mapping) else None
            if isinstance(block_id, str):
                if block_id in seen:
                    self.err(f"{pointer}/{i}/block_id", "block_id must be unique")
                seen.add(block_id)
            if len(self.errors) == before:
                self.sdk_block(block, f"{pointer}/{i}")

    def sdk_block(self, block: Mapping[str, Any], pointer: str) -> None:
        """Let slack_sdk's models check what the walker does not know about."""
        try:
            parsed = Block.parse(dict(block))
            if parsed is not None:
                parsed.to_dict()
        except SlackObjectFormationError as e:
            self.err(pointer, str(e))
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            self.err(pointer, f"invalid block: {e}")


def validate_blocks(
    blocks: Any, limits: Limits, *, modal: bool = False, pointer: str = "/blocks"
) -> list[BlockError]:
    """Schema and limit errors for a message's (or modal's) ``blocks``; empty when valid."""
    walker = _Walker(limits)
    walker.blocks(blocks, pointer, limits.modal_blocks if modal else limits.message_blocks)
    return walker.errors


def validate_view(view: Any, limits: Limits) -> list[BlockError]:
    """Errors for a ``view`` argument of views.open/update/push (modal or home)."""
    walker = _Walker(limits)
    if not isinstance(view, Mapping):
        return [BlockError("/view", "must provide an object")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        walker.err("/view/type", "must be a valid enum value")
    if kind == "modal":
        walker.text(view.get("title"), "/view/title", limits.modal_title, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                walker.text(view.get(key), f"/view/{key}", limits.modal_button, plain_only=True)
        has_inputs = any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_inputs and view.get("submit") is None:
            walker.err("/view/submit", "submit is required when the view has input blocks")
    for key, limit in (
        ("private_metadata", limits.private_metadata),
        ("callback_id", limits.callback_id),
        ("external_id", limits.external_id),
    ):
        if view.get(key) is not None:
            walker.string(view.get(key), f"/view/{key}", limit, required=False)
    walker.blocks(view.get("blocks"), "/view/blocks", limits.modal_blocks)
    if not walker.errors:
        try:
            SdkView(**{k: v for k, v in view.items() if k in _SDK_VIEW_KEYS}).to_dict()
        except SlackObjectFormationError as e:
            walker.err("/view", str(e))
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            walker.err("/view", f"invalid view: {e}")
    return walker.errors


_SDK_VIEW_KEYS = frozenset(
    {
        "type",
        "id",
        "callback_id",
        "external_id",
        "team_id",
        "bot_id",
        "app_id",
        "root_view_id",
        "previous_view_id",
        "title",
        "submit",
        "close",
        "blocks",
        "private_metadata",
        "state",
        "hash",
        "clear_on_close",
        "notify_on_close",
    }
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in (
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
            ):
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
