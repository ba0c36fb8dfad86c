"""Block Kit and mrkdwn -> readable terminal text (pure: no I/O, no Slack library).

The demo prints every Slack message through ``render_message``; tests read the same text.
Buttons are numbered in document order (``[1: Approve] [2: Deny]``) so a person at a prompt
can click by number; ``button_labels`` returns the same numbering for lookups.

mrkdwn handling follows Slack's formatting reference: ``*bold*`` and ``_italic_`` lose their
markers (or become ANSI bold/italic with ``ansi=True``), ``~strike~`` and inline ``code`` keep
theirs, fenced code blocks are kept verbatim, ``<@U1>``/``<#C1|ops>``/``<!subteam^S1>``/
``<url|text>`` become names and links, ``&amp; &lt; &gt;`` are unescaped and known emoji
shortcodes become glyphs (unknown ones stay as typed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

EMOJI: Mapping[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "ballot_box_with_check": "☑️",
    "x": "❌",
    "negative_squared_cross_mark": "❎",
    "heavy_multiplication_x": "✖️",
    "warning": "⚠️",
    "rotating_light": "🚨",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "stop_sign": "🛑",
    "octagonal_sign": "🛑",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "stopwatch": "⏱️",
    "alarm_clock": "⏰",
    "clock1": "🕐",
    "rocket": "🚀",
    "tada": "🎉",
    "fire": "🔥",
    "boom": "💥",
    "skull": "💀",
    "zzz": "💤",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "large_green_circle": "🟢",
    "large_blue_circle": "🔵",
    "white_circle": "⚪",
    "black_circle": "⚫",
    "lock": "🔒",
    "unlock": "🔓",
    "key": "🔑",
    "closed_lock_with_key": "🔐",
    "mag": "🔍",
    "mag_right": "🔎",
    "wastebasket": "🗑️",
    "pushpin": "📌",
    "package": "📦",
    "whale": "🐳",
    "gear": "⚙️",
    "wrench": "🔧",
    "hammer_and_wrench": "🛠️",
    "bulb": "💡",
    "information_source": "ℹ️",
    "question": "❓",
    "grey_question": "❔",
    "exclamation": "❗",
    "heavy_exclamation_mark": "❗",
    "eyes": "👀",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "wave": "👋",
    "point_right": "👉",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "arrow_right": "➡️",
    "arrow_up": "⬆️",
    "arrow_down": "⬇️",
    "memo": "📝",
    "clipboard": "📋",
    "page_facing_up": "📄",
    "scroll": "📜",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "calendar": "📆",
    "bell": "🔔",
    "no_bell": "🔕",
    "robot_face": "🤖",
    "computer": "💻",
    "floppy_disk": "💾",
    "link": "🔗",
    "paperclip": "📎",
    "sparkles": "✨",
    "construction": "🚧",
    "hourglass_done": "⌛",
    "new": "🆕",
    "ok": "🆗",
    "sos": "🆘",
    "recycle": "♻️",
    "shield": "🛡️",
    "bust_in_silhouette": "👤",
    "busts_in_silhouette": "👥",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "heavy_plus_sign": "➕",
    "heavy_minus_sign": "➖",
    "thinking_face": "🤔",
    "slightly_smiling_face": "🙂",
    "smile": "😄",
    "cry": "😢",
    "sweat_smile": "😅",
    "stethoscope": "🩺",
    "test_tube": "🧪",
    "leftwards_arrow_with_hook": "↩️",
}

_ANSI_BOLD = ("\x1b[1m", "\x1b[22m")
_ANSI_ITALIC = ("\x1b[3m", "\x1b[23m")


@dataclass(frozen=True)
class Names:
    """How to show ids: user id -> name, channel id -> name, user group id -> handle."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    usergroups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ButtonLabel:
    """One clickable element in a message, numbered the way ``render_message`` shows it."""

    number: int
    text: str
    action_id: str
    block_id: str
    value: str
    style: str
    element: Mapping[str, Any]


# --- mrkdwn -----------------------------------------------------------------------------------

_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_ENTITY = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?![\s_])([^_\n]+?)(?<!\s)_(?![\w_])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def unescape(text: str) -> str:
    """Slack escapes exactly three characters in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _entity(body: str, names: Names) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        return "@" + (label or names.users.get(uid, uid))
    if target.startswith("#"):
        cid = target[1:]
        return "#" + (label or names.channels.get(cid, cid))
    if target.startswith("!subteam^"):
        gid = target[len("!subteam^") :]
        handle = label.lstrip("@") if label else names.usergroups.get(gid, gid)
        return "@" + handle
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!"):
        return "@" + (label or target[1:])
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    if label and label != target:
        return f"{label} ({target})"
    return target


def _inline(text: str, names: Names, ansi: bool) -> str:
    """Format text outside code spans."""
    text = _ENTITY.sub(lambda m: _entity(m.group(1), names), text)
    bold = _ANSI_BOLD if ansi else ("", "")
    italic = _ANSI_ITALIC if ansi else ("", "")
    text = _BOLD.sub(lambda m: f"{bold[0]}{m.group(1)}{bold[1]}", text)
    text = _ITALIC.sub(lambda m: f"{italic[0]}{m.group(1)}{italic[1]}", text)
    text = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    return unescape(text)


def _outside_fences(text: str, names: Names, ansi: bool) -> str:
    parts: list[str] = []
    last = 0
    for match in _INLINE_CODE.finditer(text):
        parts.append(_inline(text[last : match.start()], names, ansi))
        parts.append("`" + unescape(match.group(1)) + "`")
        last = match.end()
    parts.append(_inline(text[last:], names, ansi))
    return "".join(parts)


def mrkdwn(text: str, names: Names | None = None, *, ansi: bool = False) -> str:
    """Render Slack mrkdwn as terminal text."""
    names = names or Names()
    out: list[str] = []
    last = 0
    for match in _FENCE.finditer(text):
        out.append(_outside_fences(text[last : match.start()], names, ansi))
        code = unescape(match.group(1)).strip("\n")
        before = "" if not out[-1] or out[-1].endswith("\n") else "\n"
        out.append(f"{before}```\n{code}\n```")
        last = match.end()
        if text[last : last + 1] not in ("", "\n"):
            out.append("\n")
    out.append(_outside_fences(text[last:], names, ansi))
    return "".join(out)


def text_object(obj: Any, names: Names | None = None, *, ansi: bool = False) -> str:
    """A Block Kit text object (plain_text or mrkdwn), or a bare string."""
    if isinstance(obj, str):
        return mrkdwn(obj, names, ansi=ansi)
    if not isinstance(obj, Mapping):
        return ""
    raw = obj.get("text", "")
    if not isinstance(raw, str):
        return ""
    if obj.get("type") == "plain_text":
        return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), raw) if obj.get("emoji", True) else raw
    return mrkdwn(raw, names, ansi=ansi)


# --- buttons ----------------------------------------------------------------------------------

_CLICKABLE = ("button", "workflow_button")


def _elements_in_order(blocks: Sequence[Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Interactive elements with their block_id, in the order a reader sees them."""
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        block_id = str(block.get("block_id", ""))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            yield block_id, accessory
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if isinstance(element, Mapping):
                yield block_id, element


def _all_blocks(message: Mapping[str, Any]) -> list[Any]:
    blocks = list(message.get("blocks") or [])
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, Mapping):
            blocks.extend(attachment.get("blocks") or [])
    return blocks


def button_labels(message: Mapping[str, Any]) -> list[ButtonLabel]:
    """Every button in a message (blocks, then attachment blocks), numbered from 1."""
    labels: list[ButtonLabel] = []
    for block_id, element in _elements_in_order(_all_blocks(message)):
        if element.get("type") not in _CLICKABLE:
            continue
        labels.append(
            ButtonLabel(
                number=len(labels) + 1,
                text=text_object(element.get("text")),
                action_id=str(element.get("action_id", "")),
                block_id=block_id,
                value=str(element.get("value", "")),
                style=str(element.get("style", "")),
                element=element,
            )
        )
    return labels


# --- blocks -----------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, names: Names, ansi: bool) -> None:
        self.names = names
        self.ansi = ansi
        self.buttons = 0

    def text(self, obj: Any) -> str:
        return text_object(obj, self.names, ansi=self.ansi)

    def element(self, element: Mapping[str, Any]) -> str:
        kind = element.get("type")
        if kind in _CLICKABLE:
            self.buttons += 1
            return f"[{self.buttons}: {self.text(element.get('text'))}]"
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if kind in (
            "static_select",
            "external_select",
            "users_select",
            "conversations_select",
            "channels_select",
        ):
            chosen = element.get("initial_option")
            shown = self.text(chosen.get("text")) if isinstance(chosen, Mapping) else ""
            shown = shown or self.text(element.get("placeholder")) or "choose"
            return f"[{shown} ▾]"
        if kind == "overflow":
            return "[⋯]"
        if kind == "plain_text_input":
            initial = element.get("initial_value")
            if isinstance(initial, str) and initial:
                return f"[{initial}]"
            return f"[{self.text(element.get('placeholder')) or 'type here'}]"
        if kind == "file_input":
            return "[upload a file]"
        if kind in ("datepicker", "timepicker", "datetimepicker"):
            return f"[{element.get('initial_date') or element.get('initial_time') or kind}]"
        if kind in ("checkboxes", "radio_buttons"):
            options = element.get("options") or []
            return " ".join(f"( ) {self.text(o.get('text'))}" for o in options if isinstance(o, Mapping))
        if isinstance(element.get("text"), (Mapping, str)):
            return self.text(element.get("text"))
        return f"[{kind}]"

    def rich_text(self, elements: Sequence[Any]) -> str:
        lines: list[str] = []
        for part in elements:
            if not isinstance(part, Mapping):
                continue
            kind = part.get("type")
            inner = self.rich_inline(part.get("elements") or [])
            if kind == "rich_text_preformatted":
                lines.append(f"```\n{inner}\n```")
            elif kind == "rich_text_quote":
                lines.extend("> " + line for line in inner.split("\n"))
            elif kind == "rich_text_list":
                ordered = part.get("style") == "ordered"
                for number, item in enumerate(part.get("elements") or [], start=1):
                    bullet = f"{number}." if ordered else "•"
                    text = self.rich_inline(item.get("elements") or []) if isinstance(item, Mapping) else ""
                    lines.append(f"{'  ' * int(part.get('indent', 0))}{bullet} {text}")
            else:
                lines.append(inner)
        return "\n".join(lines)

    def rich_inline(self, elements: Sequence[Any]) -> str:
        out: list[str] = []
        for el in elements:
            if not isinstance(el, Mapping):
                continue
            kind = el.get("type")
            if kind == "text":
                text = str(el.get("text", ""))
                style = el.get("style") or {}
                out.append(f"`{text}`" if isinstance(style, Mapping) and style.get("code") else text)
            elif kind == "link":
                url = str(el.get("url", ""))
                label = el.get("text")
                out.append(f"{label} ({url})" if label and label != url else url)
            elif kind == "user":
                uid = str(el.get("user_id", ""))
                out.append("@" + self.names.users.get(uid, uid))
            elif kind == "channel":
                cid = str(el.get("channel_id", ""))
                out.append("#" + self.names.channels.get(cid, cid))
            elif kind == "usergroup":
                gid = str(el.get("usergroup_id", ""))
                out.append("@" + self.names.usergroups.get(gid, gid))
            elif kind == "emoji":
                name = str(el.get("name", ""))
                out.append(EMOJI.get(name, f":{name}:"))
            elif kind == "broadcast":
                out.append("@" + str(el.get("range", "here")))
            elif isinstance(el.get("elements"), list):
                out.append(self.rich_inline(el["elements"]))
        return "".join(out)

    def block(self, block: Mapping[str, Any]) -> str:
        kind = block.get("type")
        if kind == "header":
            text = self.text(block.get("text"))
            return f"{text}\n{'=' * min(max(len(text), 3), 60)}"
        if kind == "divider":
            return "─" * 40
        if kind == "section":
            lines: list[str] = []
            if block.get("text") is not None:
                lines.append(self.text(block.get("text")))
            for item in block.get("fields") or []:
                lines.append("  " + self.text(item).replace("\n", " "))
            accessory = block.get("accessory")
            if isinstance(accessory, Mapping):
                shown = self.element(accessory)
                if lines:
                    lines[0] = f"{lines[0]}  {shown}" if "\n" not in lines[0] else f"{lines[0]}\n{shown}"
                else:
                    lines.append(shown)
            return "\n".join(lines)
        if kind == "context":
            parts = [self.element(e) if e.get("type") == "image" else self.text(e) for e in _maps(block)]
            return "  ".join(p for p in parts if p)
        if kind == "actions":
            return " ".join(self.element(e) for e in _maps(block))
        if kind == "input":
            label = self.text(block.get("label"))
            optional = " (optional)" if block.get("optional") else ""
            element = block.get("element")
            shown = self.element(element) if isinstance(element, Mapping) else ""
            hint = self.text(block.get("hint"))
            return f"{label}{optional}: {shown}" + (f"\n  {hint}" if hint else "")
        if kind == "image":
            title = self.text(block.get("title"))
            return f"[image: {title or block.get('alt_text', '')}]"
        if kind == "rich_text":
            return self.rich_text(block.get("elements") or [])
        if kind == "markdown":
            return str(block.get("text", ""))
        if kind == "table":
            return self.table(block.get("rows") or [])
        if kind == "video":
            return f"[video: {self.text(block.get('title'))}]"
        if kind == "file":
            return f"[file {block.get('external_id', '')}]"
        return f"[{kind} block]"

    def table(self, rows: Sequence[Any]) -> str:
        out: list[str] = []
        for row in rows:
            if isinstance(row, list):
                cells = [
                    self.rich_text(c.get("elements") or [])
                    if isinstance(c, Mapping) and c.get("type") == "rich_text"
                    else self.text(c)
                    for c in row
                ]
                out.append(" | ".join(cells))
        return "\n".join(out)

    def blocks(self, blocks: Sequence[Any]) -> str:
        rendered = [self.block(b) for b in blocks if isinstance(b, Mapping)]
        return "\n".join(r for r in rendered if r != "")

    def attachment(self, attachment: Mapping[str, Any]) -> str:
        lines: list[str] = []
        for key in ("pretext", "author_name", "title"):
            if attachment.get(key):
                lines.append(self.text(str(attachment[key])))
        if attachment.get("blocks"):
            lines.append(self.blocks(attachment["blocks"]))
        elif attachment.get("text"):
            lines.append(self.text(str(attachment["text"])))
        for item in attachment.get("fields") or []:
            if isinstance(item, Mapping):
                lines.append(f"  {item.get('title', '')}: {self.text(str(item.get('value', '')))}")
        if attachment.get("footer"):
            lines.append(self.text(str(attachment["footer"])))
        if not lines and attachment.get("fallback"):
            lines.append(str(attachment["fallback"]))
        return "\n".join("▌ " + line for line in "\n".join(lines).split("\n"))


def _maps(block: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in block.get("elements") or [] if isinstance(e, Mapping)]


def render_blocks(blocks: Sequence[Any], names: Names | None = None, *, ansi: bool = False) -> str:
    """Render a list of blocks, numbering buttons from 1."""
    return _Renderer(names or Names(), ansi).blocks(blocks)


def render_message(message: Mapping[str, Any], names: Names | None = None, *, ansi: bool = False) -> str:
    """Render a message JSON (text, blocks, attachments, files) the way a reader would see it.

    With blocks, ``text`` is only the notification fallback, so it is not shown (as in Slack).
    """
    renderer = _Renderer(names or Names(), ansi)
    parts: list[str] = []
    blocks = message.get("blocks") or []
    if blocks:
        parts.append(renderer.blocks(blocks))
    elif message.get("text"):
        parts.append(renderer.text(str(message["text"])))
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, Mapping):
            parts.append(renderer.attachment(attachment))
    for item in message.get("files") or []:
        if isinstance(item, Mapping):
            size = item.get("size")
            suffix = f", {size} bytes" if isinstance(size, int) else ""
            parts.append(
                f"📎 {item.get('title') or item.get('name', 'file')} ({item.get('name', '')}{suffix})"
            )
    return "\n".join(p for p in parts if p)


def render_view(view: Mapping[str, Any], names: Names | None = None, *, ansi: bool = False) -> str:
    """Render a modal: title, blocks, and its submit/close buttons."""
    renderer = _Renderer(names or Names(), ansi)
    title = renderer.text(view.get("title"))
    lines = [f"┏ {title}", renderer.blocks(view.get("blocks") or [])]
    buttons = [renderer.text(view.get(k)) for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines.append(" ".join(f"<{b}>" for b in buttons))
    return "\n".join(line for line in lines if line)
