"""Resource words (``pods``, ``po``, ``pod/NAME``) and the other kubectl resources podbot refuses."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from podbot.commands.tokens import word
from podbot.core.messages import Problem

POD_WORDS = frozenset({"pod", "pods", "po"})
SECRET_WORDS = frozenset({"secret", "secrets"})

# kubectl api-resources names, plurals and short names of everything that is not a pod/secret.
OTHER_RESOURCES = frozenset(
    {
        "all",
        "deployment", "deployments", "deploy",
        "replicaset", "replicasets", "rs",
        "statefulset", "statefulsets", "sts",
        "daemonset", "daemonsets", "ds",
        "job", "jobs",
        "cronjob", "cronjobs", "cj",
        "service", "services", "svc",
        "node", "nodes", "no",
        "namespace", "namespaces", "ns",
        "configmap", "configmaps", "cm",
        "event", "events", "ev",
        "ingress", "ingresses", "ing",
        "ingressclass", "ingressclasses",
        "persistentvolumeclaim", "persistentvolumeclaims", "pvc",
        "persistentvolume", "persistentvolumes", "pv",
        "serviceaccount", "serviceaccounts", "sa",
        "endpoints", "ep",
        "endpointslice", "endpointslices",
        "replicationcontroller", "replicationcontrollers", "rc",
        "horizontalpodautoscaler", "horizontalpodautoscalers", "hpa",
        "networkpolicy", "networkpolicies", "netpol",
        "role", "roles",
        "rolebinding", "rolebindings",
        "clusterrole", "clusterroles",
        "clusterrolebinding", "clusterrolebindings",
        "storageclass", "storageclasses", "sc",
        "customresourcedefinition", "customresourcedefinitions", "crd", "crds",
        "limitrange", "limitranges", "limits",
        "resourcequota", "resourcequotas", "quota",
        "poddisruptionbudget", "poddisruptionbudgets", "pdb",
        "priorityclass", "priorityclasses", "pc",
        "lease", "leases",
        "componentstatus", "componentstatuses", "cs",
        "podtemplate", "podtemplates",
        "certificatesigningrequest", "certificatesigningrequests", "csr",
        "apiservice", "apiservices",
        "mutatingwebhookconfiguration", "mutatingwebhookconfigurations",
        "validatingwebhookconfiguration", "validatingwebhookconfigurations",
        "runtimeclass", "runtimeclasses",
        "csidriver", "csidrivers", "csinode", "csinodes",
        "volumeattachment", "volumeattachments",
        "controllerrevision", "controllerrevisions",
        "podmetrics", "nodemetrics",
    }
)  # fmt: skip
_LONG_OTHER = sorted(r for r in OTHER_RESOURCES if len(r) >= 5)


@dataclass(frozen=True)
class Ref:
    """A positional argument read as ``TYPE``, ``TYPE/NAME`` or a bare name."""

    kind: str | None  # "pod", "secret", "other" or None for a bare word
    type_word: str | None
    name: str | None


def base(resource: str) -> str:
    """``deployments.apps`` -> ``deployments``."""
    return word(resource).split(".", 1)[0]


def classify(text: str) -> Ref:
    type_part, slash, name = text.partition("/")
    resource = base(type_part)
    kind = _kind(resource)
    if slash:
        if kind is None:
            kind = "other"
        return Ref(kind, type_part, name)
    if kind is not None:
        return Ref(kind, type_part, None)
    return Ref(None, None, text)


def _kind(resource: str) -> str | None:
    if resource in POD_WORDS:
        return "pod"
    if resource in SECRET_WORDS:
        return "secret"
    if resource in OTHER_RESOURCES:
        return "other"
    return None


def refuse_other(verb: str, type_word: str, supported: str) -> Problem:
    return Problem(
        "commands.error.resource_not_supported", verb=verb, resource=type_word, supported=supported
    )


def _near_misses(words: frozenset[str]) -> frozenset[str]:
    """Two neighbouring letters swapped (``pdos``) or one letter doubled (``podss``)."""
    found: set[str] = set()
    for w in words:
        found.update(w[:i] + w[i + 1] + w[i] + w[i + 2 :] for i in range(len(w) - 1))
        found.update(w[: i + 1] + w[i:] for i in range(len(w)))
    return frozenset(found - words)


_POD_TYPOS = _near_misses(frozenset({"pod", "pods"}))


def misspelt_pods(text: str) -> bool:
    """``get pdos`` meant ``get pods``: a typo this close is no pod name anyone chose (a pod really
    called so is still reachable as ``pod pdos``)."""
    return word(text) in _POD_TYPOS


def looks_like_other_resource(text: str) -> str | None:
    """A near miss of another resource type ("deploymnets"), so it is not taken as a pod name."""
    if "," in text:
        return text
    matches = difflib.get_close_matches(base(text), _LONG_OTHER, n=1, cutoff=0.85)
    return matches[0] if matches else None
