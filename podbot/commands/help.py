"""``help [VERB|TOPIC]``: usage per verb and short explanations of the pod concepts in the seed notes."""

from __future__ import annotations

import difflib

from podbot.commands.tokens import word
from podbot.core import i18n
from podbot.core.errors import UsageError
from podbot.core.messages import Problem, msg

VERBS = (
    "run",
    "create",
    "get",
    "describe",
    "logs",
    "delete",
    "secret",
    "static",
    "approvals",
    "audit",
    "subscribe",
    "subscriptions",
    "unsubscribe",
    "alerts",
    "help",
)
CONCEPTS = ("pod", "pause", "init", "containers", "static", "secrets", "selectors", "kubectl")
ALIASES = {
    "pods": "pod",
    "po": "pod",
    "infra": "pause",
    "infrastructure": "pause",
    "infrastructure-container": "pause",
    "pause-container": "pause",
    "sandbox": "pause",
    "init-container": "init",
    "init-containers": "init",
    "initcontainer": "init",
    "initcontainers": "init",
    "app": "containers",
    "app-containers": "containers",
    "container": "containers",
    "parallel": "containers",
    "static-pod": "static",
    "static-pods": "static",
    "staticpods": "static",
    "mirror": "static",
    "mirror-pod": "static",
    "mirror-pods": "static",
    "imagepullsecrets": "secrets",
    "image-pull-secrets": "secrets",
    "pull-secrets": "secrets",
    "registry": "secrets",
    "docker-registry": "secrets",
    "imagepullbackoff": "secrets",
    "errimagepull": "secrets",
    "labels": "selectors",
    "label": "selectors",
    "selector": "selectors",
    "label-selector": "selectors",
    "field-selector": "selectors",
    "approval": "approvals",
    "subscription": "subscriptions",
    "alert": "alerts",
    "log": "logs",
}


def topics() -> list[str]:
    return sorted({*VERBS, *CONCEPTS})


def canonical(topic: str) -> str:
    """A topic as typed -> its canonical name; Problem with a suggestion when unknown."""
    key = word(topic).removeprefix("--")
    key = ALIASES.get(key, key)
    if key in VERBS or key in CONCEPTS:
        return key
    matches = difflib.get_close_matches(key, [*topics(), *ALIASES], n=1, cutoff=0.6)
    suggestion = (
        msg("commands.error.did_you_mean", candidate=ALIASES.get(matches[0], matches[0])) if matches else ""
    )
    raise Problem(
        "commands.error.unknown_topic", topic=topic, suggestion=suggestion, topics=", ".join(topics())
    )


def usage(verb: str, locale: str | None) -> str:
    """The usage block of one verb (what a UsageError's hint shows)."""
    return (
        i18n.t("commands.usage_label", locale)
        + "\n```\n"
        + i18n.t(f"commands.usage.{verb}", locale)
        + "\n```"
    )


def help_text(topic: str | None, locale: str | None) -> str:
    """The help page for ``topic`` (a verb, a concept, or None for the overview), as Slack mrkdwn."""
    if topic is None or not topic.strip():
        return _overview(locale)
    try:
        name = canonical(topic)
    except Problem as problem:
        raise UsageError(problem.render(locale), hint=verbs_hint(locale)) from None
    parts: list[str] = []
    if name in VERBS:
        parts.append(f"*/pod {name}*  {i18n.t(f'commands.summary.{name}', locale)}")
        parts.append(usage(name, locale))
        parts.append(i18n.t(f"help.verb.{name}", locale))
    if name in CONCEPTS:
        parts.append(i18n.t(f"help.topic.{name}", locale))
    return "\n\n".join(parts)


def _overview(locale: str | None) -> str:
    lines = [i18n.t("help.overview.intro", locale), ""]
    lines += [f"• `{verb}`  {i18n.t(f'commands.summary.{verb}', locale)}" for verb in VERBS]
    lines += ["", i18n.t("help.overview.topics", locale, topics=", ".join(f"`{c}`" for c in CONCEPTS))]
    lines += [i18n.t("help.overview.more", locale)]
    return "\n".join(lines)


def verbs_hint(locale: str | None) -> str:
    """One line naming every verb (the hint under an unknown-verb error)."""
    return i18n.t("commands.verbs_hint", locale, verbs=", ".join(VERBS))
