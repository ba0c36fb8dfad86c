"""Defensive redaction of secrets in free text (pure; no I/O).

Callers already pass redacted text to the audit log; this is the second line of defence, so that a
slip upstream still never writes a registry password or a token to the database. It errs towards
redacting too much: an audit record that says ``password=***`` loses nothing of value.

Recognised:
- flags whose name ends in a secret word: ``--docker-password=x``, ``--token x``, ``--password 'a b'``;
  ``--from-literal=key=value`` and ``--from-env-file``-style literals keep the key, lose the value;
- ``key: value`` / ``key=value`` / ``"key": "value"`` where the key ends in a secret word
  (password, passwd, pwd, secret, token, apikey, auth, credentials, dockerconfigjson, ...);
- values under ``data:`` / ``stringData:`` of a YAML manifest, and inside a JSON ``"data": {...}``;
- user:password@ in URLs, ``Bearer``/``Basic`` credentials, Slack tokens (xox?-, xapp-).
"""

from __future__ import annotations

import re

MASK = "***"

# Normalised key endings (lower case, without - _ .) that name a secret.
_SECRET_KEY_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "dockerconfigjson",
    "dockercfg",
    "cookie",
)
# Values that cannot be secrets; masking them would only hide harmless configuration.
_HARMLESS_VALUES = frozenset({"", "true", "false", "null", "~", "none", "yes", "no"})

_QUOTED = r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'"
_KEY = r"[A-Za-z0-9_.-]*[A-Za-z0-9]"

# --flag=value or --flag value (value not another flag).
_FLAG = re.compile(rf"(?P<flag>--(?P<key>{_KEY}))(?P<sep>=|[ \t]+)(?P<value>{_QUOTED}|(?!--)[^\s]+)")
# key: value, key=value, "key": "value" (YAML, JSON, env files, kubectl --set style).
_PAIR = re.compile(
    rf"(?P<lead>(?<![\w-])[\"']?(?P<key>{_KEY})[\"']?[ \t]*(?P<sep>[:=])[ \t]*)"
    rf"(?P<value>{_QUOTED}|[^\s,;}}\]\"'][^\n,;}}\]]*)"
)
_LITERAL = re.compile(rf"(?P<lead>--from-literal(?:=|[ \t]+)[\"']?{_KEY}=)(?P<value>[^\s\"']+)")
_URL_CREDENTIALS = re.compile(r"(?P<lead>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)(?P<value>[^\s@/]+)(?=@)")
_AUTH_HEADER = re.compile(r"(?P<lead>\b(?:Bearer|Basic)[ \t]+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}")
_YAML_DATA_KEY = re.compile(r"^(?P<indent>[ \t]*)(?:data|stringData)[ \t]*:[ \t]*(?:#.*)?$")
_YAML_ENTRY = re.compile(r"^(?P<lead>[ \t]*[\"']?[^\s:\"'#][^:\n]*?[\"']?[ \t]*:)(?P<value>.*)$")
# data: {...} in JSON or YAML flow style: every value inside is a secret.
_INLINE_DATA = re.compile(r"[\"']?(?:data|stringData)[\"']?[ \t]*:[ \t]*\{[^{}]*\}")
_INLINE_VALUE = re.compile(
    rf"(?P<lead>[{{,][ \t\n]*[\"']?[^\s:\"',{{}}]+[\"']?[ \t]*:[ \t]*)(?P<value>{_QUOTED}|[^,}}\s][^,}}\n]*)"
)


def is_secret_key(key: str) -> bool:
    """Does this field or flag name (``docker-password``, ``DB_PASSWORD``, ``slackToken``) hold a secret?"""
    normal = re.sub(r"[-_.\s]", "", key).lower()
    return normal.endswith(_SECRET_KEY_ENDINGS)


def _mask_value(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{MASK}{value[0]}"
    return MASK


def _harmless(value: str) -> bool:
    return value.strip().strip("\"'").lower() in _HARMLESS_VALUES


def _flag(match: re.Match[str]) -> str:
    if not is_secret_key(match["key"]) or match["value"] == MASK:
        return match[0]
    return f"{match['flag']}{match['sep']}{_mask_value(match['value'])}"


def _pairs(text: str) -> str:
    """Mask the values of secret-named keys. A scan, not ``re.sub``: the value of a harmless key
    (``image=nginx``) must not swallow a secret pair that follows it on the same line."""
    out: list[str] = []
    position = 0
    while (match := _PAIR.search(text, position)) is not None:
        raw = match["value"]
        # key=value (env, flags) ends at whitespace; key: value (YAML) runs to the end of the line.
        quoted = raw[0] in "\"'"
        value = raw.split(maxsplit=1)[0] if match["sep"] == "=" and not quoted else raw.rstrip()
        if is_secret_key(match["key"]) and not _harmless(value) and MASK not in value:
            out.append(text[position : match.start("value")] + _mask_value(value))
            position = match.start("value") + len(value)
        else:
            out.append(text[position : match.end("lead")])
            position = match.end("lead")
    out.append(text[position:])
    return "".join(out)


def _yaml_data_blocks(text: str) -> str:
    """Mask every value nested under a ``data:``/``stringData:`` key (a Secret's payload)."""
    lines = text.split("\n")
    block_indent: int | None = None  # indent of the data: key while inside its block
    entry_indent: int | None = None  # indent of the block's entries (the first one sets it)
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" \t"))
        if block_indent is not None and line.strip():
            if indent <= block_indent:
                block_indent = entry_indent = None
            else:
                if entry_indent is None:
                    entry_indent = indent
                entry = _YAML_ENTRY.match(line) if indent <= entry_indent else None
                if entry is None:  # a block scalar's continuation line: all of it is secret
                    lines[i] = f"{line[:indent]}{MASK}"
                else:
                    value = entry["value"].strip()
                    kept = value if value in ("", "|", ">", "|-", ">-", "|+", ">+") else MASK
                    lines[i] = f"{entry['lead']} {kept}".rstrip()
                continue
        start = _YAML_DATA_KEY.match(line)
        if start:
            block_indent, entry_indent = len(start["indent"]), None
    return "\n".join(lines)


def _inline_data(match: re.Match[str]) -> str:
    return _INLINE_VALUE.sub(lambda m: f"{m['lead']}{_mask_value(m['value'].rstrip())}", match[0])


def redact(text: str) -> str:
    """``text`` with every recognisable secret value replaced by ``***``."""
    if not text:
        return text
    text = _SLACK_TOKEN.sub(MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['lead']}{MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m['lead']}{MASK}", text)
    text = _LITERAL.sub(lambda m: f"{m['lead']}{MASK}", text)
    text = _FLAG.sub(_flag, text)
    text = _INLINE_DATA.sub(_inline_data, text)
    text = _yaml_data_blocks(text)
    return _pairs(text)
