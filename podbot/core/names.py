"""Checks on Kubernetes names and values, with the API server's own wording.

Used by the command parser and the manifest loader (and usable by any form that asks for a
name), before any API call: a typo costs no round trip, and the message names the rule that
was broken in the words the API server would use (apimachinery's validation package).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from podbot.core.messages import Msg, Problem, msg

_LABEL_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL_FMT}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL_FMT}(\.{_LABEL_FMT})*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MAX = 253
LABEL_MAX = 63


def _ascii(value: str) -> bool:
    return value.isascii()


def subdomain_errors(value: str) -> list[Msg]:
    """apimachinery's IsDNS1123Subdomain."""
    errors: list[Msg] = []
    if len(value.encode()) > SUBDOMAIN_MAX:
        errors.append(msg("commands.k8s.max_len", length=SUBDOMAIN_MAX))
    if not (_ascii(value) and _DNS1123_SUBDOMAIN.match(value)):
        errors.append(msg("commands.k8s.dns1123_subdomain"))
    return errors


def label_errors(value: str) -> list[Msg]:
    """apimachinery's IsDNS1123Label."""
    errors: list[Msg] = []
    if len(value.encode()) > LABEL_MAX:
        errors.append(msg("commands.k8s.max_len", length=LABEL_MAX))
    if not (_ascii(value) and _DNS1123_LABEL.match(value)):
        if _ascii(value) and _DNS1123_SUBDOMAIN.match(value):
            errors.append(msg("commands.k8s.no_dots"))
        else:
            errors.append(msg("commands.k8s.dns1123_label"))
    return errors


def qualified_name_errors(value: str) -> list[Msg]:
    """apimachinery's IsQualifiedName (label keys, annotation keys)."""
    parts = value.split("/")
    if len(parts) > 2:
        return [msg("commands.k8s.qualified_name")]
    errors: list[Msg] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append(msg("commands.k8s.prefix_empty"))
        else:
            errors.extend(msg("commands.k8s.prefix_part", reason=e) for e in subdomain_errors(prefix))
    if not name:
        errors.append(msg("commands.k8s.name_part_empty"))
    elif len(name.encode()) > LABEL_MAX:
        errors.append(msg("commands.k8s.name_part", reason=msg("commands.k8s.max_len", length=LABEL_MAX)))
    if not (_ascii(name) and _QUALIFIED_NAME.match(name)):
        errors.append(msg("commands.k8s.name_part", reason=msg("commands.k8s.qualified_name_part")))
    return errors


def label_value_errors(value: str) -> list[Msg]:
    """apimachinery's IsValidLabelValue."""
    errors: list[Msg] = []
    if len(value.encode()) > LABEL_MAX:
        errors.append(msg("commands.k8s.max_len", length=LABEL_MAX))
    if not (_ascii(value) and _LABEL_VALUE.match(value)):
        errors.append(msg("commands.k8s.label_value"))
    return errors


def env_name_errors(value: str) -> list[Msg]:
    """The API's relaxed env-var name rule (GA in Kubernetes 1.34, on by default since 1.32)."""
    if not value:
        return [msg("commands.k8s.env_name_empty")]
    if any(not (c.isascii() and c.isprintable()) or c == "=" for c in value):
        return [msg("commands.k8s.env_name")]
    return []


def _join(errors: Iterable[Msg]) -> Msg:
    errors = list(errors)
    if len(errors) == 1:
        return errors[0]
    return msg("commands.k8s.joined", first=errors[0], rest=_join(errors[1:]))


def _check(value: str, what: str, rule: Callable[[str], list[Msg]]) -> str:
    errors = rule(value)
    if errors:
        raise Problem(
            "commands.error.invalid_name",
            what=msg("commands.name_of." + what),
            name=value,
            reason=_join(errors),
            suggestion=_lowercase_suggestion(value, rule),
        )
    return value


def _lowercase_suggestion(value: str, rule: Callable[[str], list[Msg]]) -> str | Msg:
    """``MyNginx`` -> "Did you mean `mynginx`?": the same name as the rule allows it, if that is all."""
    candidate = value.strip().lower().replace("_", "-")
    if candidate == value or rule(candidate):
        return ""
    return msg("commands.error.did_you_mean", candidate=candidate)


def pod_name(value: str) -> str:
    return _check(value, "pod", subdomain_errors)


def secret_name(value: str) -> str:
    """Like the others, but the message does not repeat the name: on the ``secret`` command line
    a password typed in the wrong place would land here."""
    errors = subdomain_errors(value)
    if errors:
        raise Problem("commands.error.invalid_secret_name", reason=_join(errors))
    return value


def node_name(value: str) -> str:
    return _check(value, "node", subdomain_errors)


def namespace(value: str) -> str:
    return _check(value, "namespace", label_errors)


def container_name(value: str) -> str:
    return _check(value, "container", label_errors)


def run_name(value: str) -> str:
    """``kubectl run NAME`` also names the container NAME, which must be a DNS label."""
    pod_name(value)
    errors = label_errors(value)
    if errors:
        raise Problem("commands.error.run_name_container", name=value, reason=_join(errors))
    return value


def context(value: str) -> str:
    """kubeconfig context names are free-form; refuse only what cannot be a name at all."""
    if not value or len(value) > 253 or any(c.isspace() or not c.isprintable() for c in value):
        raise Problem("commands.error.invalid_context", name=value)
    return value


def label_key(key: str) -> str:
    errors = qualified_name_errors(key)
    if errors:
        raise Problem("commands.error.invalid_label_key", key=key, reason=_join(errors))
    return key


def label_value(key: str, value: str) -> str:
    errors = label_value_errors(value)
    if errors:
        raise Problem("commands.error.invalid_label_value", key=key, value=value, reason=_join(errors))
    return value


def annotation_key(key: str) -> str:
    # The API validates annotation keys lower-cased (ValidateAnnotations).
    errors = qualified_name_errors(key.lower())
    if errors:
        raise Problem("commands.error.invalid_annotation_key", key=key, reason=_join(errors))
    return key


def env_name(name: str) -> str:
    errors = env_name_errors(name)
    if errors:
        raise Problem("commands.error.invalid_env_name", name=name, reason=_join(errors))
    return name


def port(text: str, flag: str = "--port") -> int:
    value = integer(text, flag)
    if not 1 <= value <= 65535:
        raise Problem("commands.error.port_range", flag=flag, value=text)
    return value


def integer(text: str, flag: str) -> int:
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    if not body or not body.isascii() or not body.isdigit() or len(body) > 18:
        raise Problem("commands.error.not_an_integer", flag=flag, value=text)
    return int(stripped)


# --- image references (distribution/reference, as the kubelet parses them) --------------------

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
NAME_TOTAL_MAX = 255


def image(ref: str) -> str:
    """Refuse what the kubelet would report as InvalidImageName, before the pod exists."""
    if not ref or ref != ref.strip():
        raise Problem("commands.error.image_whitespace", image=ref)
    if _IDENTIFIER.match(ref):
        raise Problem("commands.error.image_identifier", image=ref)
    remote = _remote_name(ref)
    if remote.lower() != remote:
        raise Problem("commands.error.image_uppercase", image=ref, repository=remote)
    match = _REFERENCE.match(ref) if ref.isascii() else None
    if match is None:
        raise Problem("commands.error.image_format", image=ref)
    if len(match.group(1)) > NAME_TOTAL_MAX:
        raise Problem("commands.error.image_too_long", image=ref, limit=NAME_TOTAL_MAX)
    return ref


def _remote_name(ref: str) -> str:
    """The repository path without registry host and tag (splitDockerDomain's rules)."""
    name = ref.split("@", 1)[0]
    first, slash, rest = name.partition("/")
    if slash and (first == "localhost" or any(c in first for c in ".:") or first.lower() != first):
        name = rest
    return name.split(":", 1)[0]


def key_values(text: str, flag: str) -> list[tuple[str, str]]:
    """``k=v,k2=v2`` as ``kubectl run --labels`` reads it."""
    pairs = []
    for item in text.split(","):
        key, eq, value = item.partition("=")
        if not eq or "=" in value:
            raise Problem("commands.error.invalid_pair", flag=flag, item=item)
        pairs.append((key, value))
    return pairs
