"""``run NAME --image=IMAGE ...``: one pod, as kubectl run makes it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TypeVar

from podbot.commands import flags
from podbot.commands.flags import Flag, Kind
from podbot.commands.scope import bad_choice, dry_run, where
from podbot.commands.tokens import Token, word
from podbot.core import names
from podbot.core.messages import Problem
from podbot.core.model import OutputFormat, OverrideType, RestartPolicy, RunPod

RUN_FLAGS = (
    Flag("image"),
    Flag("port"),
    Flag("env", Kind.LIST),
    Flag("labels", Kind.LIST, short="l"),
    Flag("annotations", Kind.LIST),
    Flag("restart"),
    Flag("image-pull-policy"),
    Flag("command", Kind.BOOL),
    Flag("privileged", Kind.BOOL),
    Flag("overrides"),
    Flag("override-type"),
    Flag("output", short="o"),
    Flag("show-managed-fields", Kind.BOOL),
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
    override_type = _choice(args.one("override-type"), "--override-type", OverrideType, OverrideType.MERGE)
    return RunPod(
        name=name,
        image=image,
        where=where(args),
        port=names.port(port) if port else None,  # kubectl: an empty --port= means no port
        env=_env(args.many("env")),
        labels=_labels(args.many("labels")),
        annotations=_annotations(args.many("annotations")),
        restart=_choice(args.one("restart"), "--restart", RestartPolicy, RestartPolicy.ALWAYS),
        image_pull_policy=_pull_policy(args.one("image-pull-policy")),
        # kubectl accepts --command without a command: the image's entrypoint stays.
        command=args.switch("command"),
        args=tuple(args_after),
        dry_run=dry_run(args),
        overrides=_overrides(args.one("overrides"), override_type),
        override_type=override_type,
        privileged=args.switch("privileged"),
        output=_output(args.one("output")),
        show_managed_fields=args.switch("show-managed-fields"),
        notes=tuple(notes),
    )


# kubectl run's own check (apimachinery IsEnvVarName), stricter than what the API server accepts.
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _env(items: list[str]) -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {}
    for item in items:
        if not item:
            continue  # kubectl skips an empty --env=
        key, eq, value = item.partition("=")
        if not eq:
            raise Problem("commands.error.invalid_env", item=item)
        if not _ENV_NAME.match(key):
            raise Problem("commands.error.run_env_name", item=item, name=key)
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
        if not item:
            continue  # kubectl skips an empty --annotations=
        key, eq, value = item.partition("=")
        if not eq:
            raise Problem("commands.error.invalid_pair", flag="--annotations", item=item)
        names.annotation_key(key)
        if key in pairs and pairs[key] != value:
            raise Problem("commands.error.duplicate_key", flag="--annotations", key=key)
        pairs[key] = value
    return tuple(pairs.items())


_Choice = TypeVar("_Choice", RestartPolicy, OverrideType)


def _choice(value: str | None, flag: str, choices: type[_Choice], default: _Choice) -> _Choice:
    """An enum flag as kubectl reads it: case-sensitive; missing or empty means the default."""
    if not value:
        return default
    for choice in choices:
        if choice.value == value:
            return choice
    raise bad_choice(flag, value, [c.value for c in choices])


def _pull_policy(value: str | None) -> str | None:
    if not value:
        return None  # kubectl: unset, the API server's default applies
    policies = ["Always", "IfNotPresent", "Never"]
    if value in policies:
        return value
    raise bad_choice("--image-pull-policy", value, policies)


_OUTPUTS = {"yaml": OutputFormat.YAML, "json": OutputFormat.JSON, "name": OutputFormat.NAME}


def _output(value: str | None) -> OutputFormat | None:
    if not value:
        return None
    chosen = _OUTPUTS.get(word(value))
    if chosen is None:
        raise Problem("commands.error.run_output", value=value, choices="yaml, json, name")
    return chosen


def _overrides(value: str | None, kind: OverrideType) -> str | None:
    if not value:
        return None
    if len(value) > OVERRIDES_MAX:
        raise Problem("commands.error.overrides_too_long", limit=OVERRIDES_MAX)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise Problem(
            "commands.error.overrides_json", reason=err.msg, line=err.lineno, column=err.colno
        ) from err
    except RecursionError as err:
        raise Problem("commands.error.overrides_nesting") from err
    if kind is OverrideType.JSON and not isinstance(parsed, list):
        raise Problem("commands.error.overrides_not_patch")
    if kind is not OverrideType.JSON and not isinstance(parsed, dict):
        raise Problem("commands.error.overrides_not_object")
    return value
