"""``delete pod NAME`` and ``delete secret NAME``: one exact object, which an approver then confirms."""

from __future__ import annotations

from collections.abc import Sequence

from podbot.commands import flags, resources
from podbot.commands.flags import Args, Flag, Kind
from podbot.commands.scope import no_extra, where
from podbot.commands.tokens import Token
from podbot.core import names
from podbot.core.messages import Problem
from podbot.core.model import DeletePod, DeleteSecret

DELETE_POD_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    Flag("grace-period"),
    Flag("reason"),
    Flag("now", Kind.BOOL),
)
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
        no_extra(args, "delete")
        return DeleteSecret(name=names.secret_name(name), where=where(args), reason=_reason(args))
    args = flags.parse(tokens, DELETE_POD_FLAGS, refused=DELETE_REFUSED)
    no_extra(args, "delete")
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
    targets = [first.name, *texts[1:]] if first.name is not None else texts[1:]
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
