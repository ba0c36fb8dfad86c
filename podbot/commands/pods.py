"""The pod verbs: run, get, describe, logs, delete, static."""

from __future__ import annotations

import json
from collections.abc import Sequence

from podbot.commands import flags, names, resources, schedule, selectors
from podbot.commands.flags import Args, Flag, Kind
from podbot.commands.problem import Problem
from podbot.commands.tokens import Token, word
from podbot.model import (
    DeletePod,
    DeleteSecret,
    DescribePod,
    DryRun,
    GetPods,
    ListStaticPods,
    OutputFormat,
    PodLogs,
    RestartPolicy,
    RunPod,
    Where,
)

PODS_ONLY = "pods"


def where(args: Args) -> Where:
    namespace = args.one("namespace")
    context = args.one("context")
    return Where(
        context=names.context(context) if context is not None else None,
        namespace=names.namespace(namespace) if namespace is not None else None,
    )


def dry_run(args: Args) -> DryRun:
    value = args.one("dry-run")
    if value is None:
        return DryRun.NONE
    lowered = word(value)
    # kubectl still accepts the old boolean spelling: true = client, false = none.
    lowered = {"true": "client", "false": "none", "unchanged": "client"}.get(lowered, lowered)
    for choice in DryRun:
        if choice.value == lowered:
            return choice
    raise Problem("commands.error.bad_choice", flag="--dry-run", value=value, choices="none, server, client")


def _no_extra(args: Args, verb: str) -> None:
    if args.rest:
        raise Problem("commands.error.unexpected_args", verb=verb, args=" ".join(t.text for t in args.rest))


# --- run -------------------------------------------------------------------------------------

RUN_FLAGS = (
    Flag("image"),
    Flag("port"),
    Flag("env", Kind.LIST),
    Flag("labels", Kind.LIST, short="l"),
    Flag("annotations", Kind.LIST),
    Flag("restart"),
    Flag("image-pull-policy"),
    Flag("command", Kind.BOOL),
    Flag("overrides"),
    Flag("replicas"),
    Flag("generator"),
    flags.NAMESPACE,
    flags.CONTEXT,
    flags.DRY_RUN,
)
_ATTACH = "commands.error.run_attach"
_REMOVED = "commands.error.run_flag_removed"
RUN_REFUSED = {
    "stdin": _ATTACH,
    "i": _ATTACH,
    "tty": _ATTACH,
    "t": _ATTACH,
    "rm": _ATTACH,
    "attach": _ATTACH,
    "quiet": _ATTACH,
    "q": _ATTACH,
    "expose": "commands.error.run_expose",
    "serviceaccount": _REMOVED,
    "limits": _REMOVED,
    "requests": _REMOVED,
    "hostport": _REMOVED,
    "schedule": _REMOVED,
    "service-overrides": _REMOVED,
    "service-generator": _REMOVED,
}
# What each retired kubectl run generator used to create.
_GENERATORS = {
    "run/v1": "ReplicationController",
    "deployment/v1beta1": "Deployment",
    "deployment/apps.v1beta1": "Deployment",
    "deployment/apps.v1": "Deployment",
    "job/v1": "Job",
    "cronjob/v1beta1": "CronJob",
    "cronjob/v2alpha1": "CronJob",
}
NOTE_REPLICAS = "commands.note.replicas_ignored"
NOTE_GENERATOR = "commands.note.generator_ignored"
OVERRIDES_MAX = 64 * 1024


def parse_run(tokens: Sequence[Token]) -> RunPod:
    args = flags.parse(tokens, RUN_FLAGS, refused=RUN_REFUSED)
    positionals = [t.text for t in args.positionals]
    if not positionals:
        raise Problem("commands.error.run_needs_name")
    name = names.run_name(positionals[0])
    image = args.one("image")
    if image is None:
        raise Problem("commands.error.run_needs_image")
    names.image(image)
    notes: list[str] = []
    generator = args.one("generator")
    if generator is not None:
        made = _GENERATORS.get(word(generator))
        if made is not None:
            raise Problem("commands.error.run_generator_other", generator=generator, kind=made)
        if word(generator) != "run-pod/v1":
            raise Problem("commands.error.run_generator_unknown", generator=generator)
        notes.append(NOTE_GENERATOR)
    replicas = args.one("replicas")
    if replicas is not None:
        if names.integer(replicas, "--replicas") < 0:
            raise Problem("commands.error.not_negative", flag="--replicas", value=replicas)
        notes.append(NOTE_REPLICAS)
    port = args.one("port")
    args_after = positionals[1:] + [t.text for t in args.rest or ()]
    command = args.switch("command")
    if command and not args_after:
        raise Problem("commands.error.run_command_needs_args")
    return RunPod(
        name=name,
        image=image,
        where=where(args),
        port=names.port(port) if port is not None else None,
        env=_env(args.many("env")),
        labels=_labels(args.many("labels")),
        annotations=_annotations(args.many("annotations")),
        restart=_restart(args.one("restart")),
        image_pull_policy=_pull_policy(args.one("image-pull-policy")),
        command=command,
        args=tuple(args_after),
        dry_run=dry_run(args),
        overrides=_overrides(args.one("overrides")),
        notes=tuple(notes),
    )


def _env(items: list[str]) -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise Problem("commands.error.invalid_env", item=item)
        names.env_name(key)
        if key in seen and seen[key] != value:
            raise Problem("commands.error.duplicate_key", flag="--env", key=key)
        seen[key] = value
    return tuple(seen.items())


def _labels(items: list[str]) -> tuple[tuple[str, str], ...] | None:
    pairs: dict[str, str] = {}
    for item in items:
        if not item:
            continue
        for key, value in names.key_values(item, "--labels"):
            names.label_key(key)
            names.label_value(key, value)
            if key in pairs and pairs[key] != value:
                raise Problem("commands.error.duplicate_key", flag="--labels", key=key)
            pairs[key] = value
    return tuple(pairs.items()) if pairs else None


def _annotations(items: list[str]) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise Problem("commands.error.invalid_pair", flag="--annotations", item=item)
        names.annotation_key(key)
        if key in pairs and pairs[key] != value:
            raise Problem("commands.error.duplicate_key", flag="--annotations", key=key)
        pairs[key] = value
    return tuple(pairs.items())


def _restart(value: str | None) -> RestartPolicy:
    if value is None:
        return RestartPolicy.ALWAYS
    for policy in RestartPolicy:
        if policy.value.lower() == word(value):
            return policy
    raise Problem("commands.error.bad_choice", flag="--restart", value=value, choices="Always, OnFailure, Never")


def _pull_policy(value: str | None) -> str | None:
    if value is None:
        return None
    for policy in ("Always", "IfNotPresent", "Never"):
        if policy.lower() == word(value):
            return policy
    raise Problem(
        "commands.error.bad_choice", flag="--image-pull-policy", value=value, choices="Always, IfNotPresent, Never"
    )


def _overrides(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > OVERRIDES_MAX:
        raise Problem("commands.error.overrides_too_long", limit=OVERRIDES_MAX)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise Problem("commands.error.overrides_json", reason=err.msg, line=err.lineno, column=err.colno) from err
    except RecursionError as err:
        raise Problem("commands.error.overrides_nesting") from err
    if not isinstance(parsed, dict):
        raise Problem("commands.error.overrides_not_object")
    return value


# --- get / describe ---------------------------------------------------------------------------

GET_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    flags.ALL_NAMESPACES,
    Flag("selector", short="l"),
    Flag("field-selector"),
    Flag("output", short="o"),
)
_WATCH = "commands.error.get_watch"
GET_REFUSED = {"watch": _WATCH, "w": _WATCH, "watch-only": _WATCH}
_OUTPUTS = {"wide": OutputFormat.WIDE, "yaml": OutputFormat.YAML, "json": OutputFormat.JSON, "name": OutputFormat.NAME}


def pod_names(verb: str, positionals: Sequence[Token]) -> list[str]:
    """``[pods|pod|po] NAME...`` or ``pod/NAME...`` -> validated pod names."""
    texts = [t.text for t in positionals]
    if not texts:
        return []
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
    _no_extra(args, "get")
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
    _no_extra(args, "describe")
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
    _no_extra(args, "logs")
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


# --- delete ----------------------------------------------------------------------------------

DELETE_POD_FLAGS = (flags.NAMESPACE, flags.CONTEXT, Flag("grace-period"), Flag("reason"), Flag("now", Kind.BOOL))
DELETE_SECRET_FLAGS = (flags.NAMESPACE, flags.CONTEXT, Flag("reason"))
_ONE_OBJECT = "commands.error.delete_one_object"
DELETE_REFUSED = {
    "force": "commands.error.delete_force",
    "all": _ONE_OBJECT,
    "selector": _ONE_OBJECT,
    "l": _ONE_OBJECT,
    "field-selector": _ONE_OBJECT,
    "filename": _ONE_OBJECT,
    "f": _ONE_OBJECT,
    "all-namespaces": _ONE_OBJECT,
    "A": _ONE_OBJECT,
    "a": _ONE_OBJECT,
}
REASON_MAX = 500


def parse_delete(tokens: Sequence[Token]) -> DeletePod | DeleteSecret:
    kind, name = _delete_target(tokens)
    if kind == "secret":
        args = flags.parse(tokens, DELETE_SECRET_FLAGS, refused=DELETE_REFUSED)
        _no_extra(args, "delete")
        return DeleteSecret(name=names.secret_name(name), where=where(args), reason=_reason(args))
    args = flags.parse(tokens, DELETE_POD_FLAGS, refused=DELETE_REFUSED)
    _no_extra(args, "delete")
    return DeletePod(
        name=names.pod_name(name), where=where(args), grace_period=_grace(args), reason=_reason(args)
    )


def _delete_target(tokens: Sequence[Token]) -> tuple[str, str]:
    # The pod flags are a superset of the secret flags: parse with them only to find the target.
    probe = flags.parse(tokens, DELETE_POD_FLAGS, refused=DELETE_REFUSED)
    texts = [t.text for t in probe.positionals] + [t.text for t in probe.rest or ()]
    if not texts:
        raise Problem("commands.error.delete_what")
    first = resources.classify(texts[0])
    if first.kind is None:
        raise Problem("commands.error.delete_needs_type", name=texts[0])
    if first.kind == "other":
        raise resources.refuse_other("delete", first.type_word or texts[0], "pods, secrets")
    kind = first.kind
    if first.name is not None:
        targets = [first.name, *texts[1:]]
    else:
        targets = texts[1:]
    if not targets:
        raise Problem("commands.error.delete_needs_name", kind=kind)
    if len(targets) > 1:
        raise Problem("commands.error.delete_many", names=", ".join(targets[:5]))
    return kind, targets[0]


def _grace(args: Args) -> int | None:
    text = args.one("grace-period")
    now = args.switch("now")
    if text is None:
        return 1 if now else None
    value = names.integer(text, "--grace-period")
    if now and value != 1:
        raise Problem("commands.error.now_and_grace")
    if value == -1:
        return None  # kubectl's "use the pod's own terminationGracePeriodSeconds"
    if value == 0:
        raise Problem("commands.error.grace_zero")
    if value < 0:
        raise Problem("commands.error.not_negative", flag="--grace-period", value=text)
    return value


def _reason(args: Args) -> str:
    reason = (args.one("reason") or "").strip()
    if len(reason) > REASON_MAX:
        raise Problem("commands.error.reason_too_long", limit=REASON_MAX)
    return reason


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
