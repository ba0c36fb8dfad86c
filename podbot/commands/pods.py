"""The pod read verbs: get, describe, logs, static."""

from __future__ import annotations

from collections.abc import Sequence

from podbot.commands import flags, resources, schedule, selectors
from podbot.commands.flags import Flag, Kind
from podbot.commands.scope import no_extra, where
from podbot.commands.tokens import Token, word
from podbot.core import names
from podbot.core.messages import Problem
from podbot.core.model import DescribePod, GetPods, ListStaticPods, OutputFormat, PodLogs

PODS_ONLY = "pods"


# --- get / describe ---------------------------------------------------------------------------

GET_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    flags.ALL_NAMESPACES,
    Flag("selector", short="l"),
    Flag("field-selector"),
    Flag("output", short="o"),
    Flag("show-managed-fields", Kind.BOOL),
)
_WATCH = "commands.error.get_watch"
GET_REFUSED = {"watch": _WATCH, "w": _WATCH, "watch-only": _WATCH}
_OUTPUTS = {
    "wide": OutputFormat.WIDE,
    "yaml": OutputFormat.YAML,
    "json": OutputFormat.JSON,
    "name": OutputFormat.NAME,
}


def pod_names(verb: str, positionals: Sequence[Token]) -> list[str]:
    """``[pods|pod|po] NAME...`` or ``pod/NAME...`` -> validated pod names."""
    texts = [t.text for t in positionals]
    if not texts:
        return []
    if resources.misspelt_pods(texts[0]):
        raise Problem("commands.error.pods_typo", word=texts[0], verb=verb)
    first = resources.classify(texts[0])
    if first.kind == "pod" and first.name is None:
        for text in texts[1:]:
            if "/" in text:
                raise Problem("commands.error.type_twice", verb=verb, arg=text)
        return [names.pod_name(t) for t in texts[1:]]
    slashed = any("/" in t for t in texts)
    found: list[str] = []
    for text in texts:
        ref = resources.classify(text)
        if ref.kind == "secret":
            raise Problem("commands.error.secrets_not_listed", verb=verb)
        if ref.kind == "other":
            raise resources.refuse_other(verb, ref.type_word or text, PODS_ONLY)
        if ref.kind == "pod" and ref.name is not None:
            found.append(names.pod_name(ref.name))
            continue
        if slashed:
            raise Problem("commands.error.mixed_forms", verb=verb, arg=text)
        if resources.looks_like_other_resource(text) is not None:
            raise resources.refuse_other(verb, text, PODS_ONLY)
        found.append(names.pod_name(text))
    return found


def parse_get(tokens: Sequence[Token]) -> GetPods:
    args = flags.parse(tokens, GET_FLAGS, refused=GET_REFUSED)
    no_extra(args, "get")
    pods = pod_names("get", args.positionals)
    all_namespaces = args.switch("all-namespaces")
    loc = where(args)
    if all_namespaces and loc.namespace is not None:
        raise Problem("commands.error.all_and_namespace")
    if all_namespaces and pods:
        raise Problem("commands.error.names_across_namespaces")
    label = args.one("selector")
    if label is not None:
        selectors.label_selector(label)
        if pods:
            raise Problem("commands.error.names_and_selector")
    field = args.one("field-selector")
    if field is not None:
        selectors.field_selector(field)
    return GetPods(
        names=tuple(dict.fromkeys(pods)),
        where=loc,
        all_namespaces=all_namespaces,
        label_selector=label,
        field_selector=field,
        output=_output(args.one("output")),
        show_managed_fields=args.switch("show-managed-fields"),
    )


def _output(value: str | None) -> OutputFormat:
    if value is None:
        return OutputFormat.TABLE
    chosen = _OUTPUTS.get(word(value))
    if chosen is None:
        raise Problem("commands.error.bad_output", value=value, choices="wide, yaml, json, name")
    return chosen


DESCRIBE_FLAGS = (flags.NAMESPACE, flags.CONTEXT)


def parse_describe(tokens: Sequence[Token]) -> DescribePod:
    args = flags.parse(tokens, DESCRIBE_FLAGS)
    no_extra(args, "describe")
    pods = pod_names("describe", args.positionals)
    if not pods:
        raise Problem("commands.error.needs_pod_name", verb="describe")
    if len(pods) > 1:
        raise Problem("commands.error.one_pod_only", verb="describe")
    return DescribePod(name=pods[0], where=where(args))


# --- logs ------------------------------------------------------------------------------------

LOGS_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    Flag("container", short="c"),
    Flag("previous", Kind.BOOL, short="p"),
    Flag("tail"),
    Flag("since"),
)
LOGS_REFUSED = {
    "follow": "commands.error.logs_follow",
    "f": "commands.error.logs_follow",
    "selector": "commands.error.logs_one_pod",
    "l": "commands.error.logs_one_pod",
    "all-containers": "commands.error.logs_all_containers",
    "since-time": "commands.error.logs_since_time",
}


def parse_logs(tokens: Sequence[Token]) -> PodLogs:
    args = flags.parse(tokens, LOGS_FLAGS, refused=LOGS_REFUSED)
    no_extra(args, "logs")
    texts = [t.text for t in args.positionals]
    if not texts:
        raise Problem("commands.error.needs_pod_name", verb="logs")
    first = resources.classify(texts[0])
    if first.kind == "pod" and first.name is None and len(texts) >= 2:
        texts = texts[1:]  # "logs pod NAME": friendlier than kubectl, which would read a pod named "pod"
        first = resources.classify(texts[0])
    if first.kind == "pod" and first.name is not None:
        pod = first.name
    elif first.kind is not None and first.type_word is not None and first.kind != "pod":
        raise resources.refuse_other("logs", first.type_word, PODS_ONLY)
    else:
        pod = texts[0]
    names.pod_name(pod)
    if len(texts) > 2:
        raise Problem("commands.error.logs_too_many", args=" ".join(texts[2:]))
    container = args.one("container")
    if len(texts) == 2:
        if container is not None and container != texts[1]:
            raise Problem("commands.error.logs_two_containers", first=texts[1], second=container)
        container = texts[1]
    tail = args.one("tail")
    since = args.one("since")
    return PodLogs(
        name=pod,
        where=where(args),
        container=names.container_name(container) if container is not None else None,
        previous=args.switch("previous"),
        tail=_tail(tail) if tail is not None else None,
        since_seconds=schedule.duration_seconds(since, flag="--since") if since is not None else None,
    )


def _tail(text: str) -> int | None:
    value = names.integer(text, "--tail")
    if value == -1:
        return None  # kubectl's "all lines"
    if value < 0:
        raise Problem("commands.error.tail_negative", value=text)
    return value


# --- static ----------------------------------------------------------------------------------

STATIC_FLAGS = (flags.NAMESPACE, flags.CONTEXT, flags.ALL_NAMESPACES, Flag("node"))


def parse_static(tokens: Sequence[Token]) -> ListStaticPods:
    args = flags.parse(tokens, STATIC_FLAGS)
    texts = [t.text for t in args.positionals]
    if texts and resources.base(texts[0]) in resources.POD_WORDS:
        texts = texts[1:]  # "static pods" reads naturally
    if texts or args.rest:
        raise Problem("commands.error.static_args", arg=(texts or [t.text for t in args.rest or ()])[0])
    loc = where(args)
    all_namespaces = args.switch("all-namespaces")
    if all_namespaces and loc.namespace is not None:
        raise Problem("commands.error.all_and_namespace")
    node = args.one("node")
    return ListStaticPods(
        where=loc,
        all_namespaces=loc.namespace is None,
        node=names.node_name(node) if node is not None else None,
    )
