"""Image references and what podbot knows about registry credentials (never the credentials).

``RegistryCredentialIndex`` records, per namespace, which ``kubernetes.io/dockerconfigjson`` (or
legacy ``dockercfg``) secrets exist and which registry hosts each one has an entry for. Diagnosis
uses it to tell "the pod names a secret that does not exist" from "the secret exists but has no
entry for this registry" from "the registry rejected the credentials". Passwords and auth strings
are never read into it: ``hosts_from_secret`` returns host names only.

For the fix, it also knows (when it was read from the API, as ``describe`` and an alert about to be
posted do) when each secret was last written (``creationTimestamp`` or the newest
``metadata.managedFields`` time: a real API server stamps every write there) and which pull
secrets each ServiceAccount names. A secret written after the last failed pull is a fix the
kubelet has not tried yet; a registry secret no pod or ServiceAccount refers to is one to attach.

Host matching follows the kubelet's keyring (pkg/credentialprovider URLsMatch): the entry's scheme
is ignored, Docker Hub's aliases are one host, a ``*`` glob matches within one DNS label, and ports
must be equal. Unlike the kubelet, an entry's path prefix (``reg.example.com/team``) is ignored, so
podbot may say "has an entry" where the kubelet would not use it for a different path.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from podbot.core.pods.status import parse_time

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
REGISTRY_SECRET_TYPES = frozenset({"kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"})


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image reference split the way container runtimes do (docker/distribution normalization)."""

    registry: str  # host[:port]; docker.io when the reference names none
    repository: str  # path inside the registry (library/nginx for "nginx")
    tag: str = ""
    digest: str = ""


def parse_image(image: str) -> ImageRef:
    """Best-effort split of ``image``; never raises (invalid names are diagnosed elsewhere)."""
    rest, _, digest = image.strip().partition("@")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = normalize_host(first), remainder
    else:
        registry, path = DOCKER_HUB, rest
    name, tag = path, ""
    slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > slash:
        name, tag = path[:colon], path[colon + 1 :]
    if registry == DOCKER_HUB and "/" not in name and name:
        name = "library/" + name
    if not tag and not digest:
        tag = "latest"
    return ImageRef(registry=registry, repository=name, tag=tag, digest=digest)


def normalize_host(entry: str) -> str:
    """A registry key as written in a docker config (``https://host:5000/v1/``) -> ``host:5000``."""
    host = entry.strip()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def host_matches(entry: str, registry: str) -> bool:
    """Does a secret's (normalized) registry entry apply to images from ``registry``?"""
    entry_host, _, entry_port = entry.partition(":")
    host, _, port = registry.partition(":")
    if entry_port != port:
        return False  # kubelet's URLsMatch: the ports must be equal (both absent counts)
    if "*" in entry_host:
        entry_parts, host_parts = entry_host.split("."), host.split(".")
        return len(entry_parts) == len(host_parts) and all(
            fnmatch.fnmatchcase(h, e) for e, h in zip(entry_parts, host_parts, strict=True)
        )
    return entry_host == host


def hosts_from_secret(secret: Mapping[str, Any]) -> frozenset[str]:
    """The registry hosts a raw Secret has entries for (empty when it is not a registry secret)."""
    kind = secret.get("type")
    data = secret.get("data") or {}
    raw = data.get(".dockerconfigjson") if kind == "kubernetes.io/dockerconfigjson" else None
    if kind == "kubernetes.io/dockercfg":
        raw = data.get(".dockercfg")
    if not raw:
        return frozenset()
    try:
        parsed = json.loads(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error):
        return frozenset()
    if not isinstance(parsed, dict):
        return frozenset()
    entries = parsed.get("auths") if kind == "kubernetes.io/dockerconfigjson" else parsed
    if not isinstance(entries, dict):
        return frozenset()
    return frozenset(normalize_host(str(key)) for key in entries if str(key).strip())


def written_at(obj: Mapping[str, Any]) -> float | None:
    """When an object was last written: its creation, or the newest managedFields entry."""
    meta = obj.get("metadata") or {}
    times = [meta.get("creationTimestamp")]
    times += [entry.get("time") for entry in meta.get("managedFields") or () if isinstance(entry, dict)]
    parsed = [when.timestamp() for when in (parse_time(t) for t in times if isinstance(t, str)) if when]
    return max(parsed) if parsed else None


def pull_secret_names(service_account: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``imagePullSecrets`` a ServiceAccount gives the pods created with it."""
    refs = service_account.get("imagePullSecrets") or ()
    return tuple(str(r.get("name")) for r in refs if isinstance(r, dict) and r.get("name"))


class CredentialState(Enum):
    """What the pod can present to the registry of one image."""

    NO_SECRETS = "no_secrets"  # the pod names no imagePullSecrets
    SECRETS_ABSENT = "secrets_absent"  # it names secrets, none of which exists
    NO_ENTRY = "no_entry"  # a named secret exists but has no entry for this registry
    HAS_ENTRY = "has_entry"  # an existing named secret has an entry for this registry
    UNKNOWN = "unknown"  # podbot does not know this namespace's secrets


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    state: CredentialState
    secret: str = ""  # the secret the fix should create/replace (first relevant named secret)
    existing: tuple[str, ...] = ()  # named secrets that exist
    written_at: float | None = None  # HAS_ENTRY: when that secret was last written, if known
    unattached: str = ""  # NO_SECRETS: a secret of the namespace that has an entry for the registry
    attached: bool | None = None  # ... and whether the pod's ServiceAccount names it (None: unknown)


@dataclass(frozen=True)
class RegistryCredentialIndex:
    """namespace -> registry secret name -> registry hosts it has entries for.

    ``namespaces`` lists the namespaces whose secrets podbot has listed (possibly none exist
    there); about any other namespace it knows nothing, and says so (``CredentialState.UNKNOWN``).
    """

    secrets: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    namespaces: frozenset[str] = frozenset()
    written: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (namespace, secret) -> time
    service_accounts: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """(namespace, ServiceAccount) -> its imagePullSecrets, for the accounts podbot has read."""

    @classmethod
    def build(
        cls, entries: Iterable[tuple[str, str, Iterable[str]]], namespaces: Iterable[str] = ()
    ) -> RegistryCredentialIndex:
        """From ``(namespace, secret name, hosts)`` triples; their namespaces count as known."""
        table: dict[str, dict[str, frozenset[str]]] = {}
        known = set(namespaces)
        for namespace, name, hosts in entries:
            table.setdefault(namespace, {})[name] = frozenset(normalize_host(h) for h in hosts)
            known.add(namespace)
        return cls(secrets=table, namespaces=frozenset(known))

    @classmethod
    def from_secrets(
        cls,
        namespace: str,
        secrets: Iterable[Mapping[str, Any]],
        service_accounts: Iterable[Mapping[str, Any]] = (),
    ) -> RegistryCredentialIndex:
        """From one namespace's raw Secrets (registry secrets only) and ServiceAccounts, as read
        from the API (``describe``, an alert before it is posted)."""
        registry = [s for s in secrets if s.get("type") in REGISTRY_SECRET_TYPES]
        entries = [(namespace, _name(s), hosts_from_secret(s)) for s in registry]
        index = cls.build(entries, namespaces=[namespace])
        times = {(namespace, _name(s)): t for s in registry if (t := written_at(s)) is not None}
        accounts = {(namespace, _name(a)): pull_secret_names(a) for a in service_accounts}
        return RegistryCredentialIndex(index.secrets, index.namespaces, times, accounts)

    def with_secret(self, namespace: str, name: str, hosts: Iterable[str]) -> RegistryCredentialIndex:
        """A copy with one secret added or replaced (the watch cache calls this on Secret events)."""
        table = {ns: dict(names) for ns, names in self.secrets.items()}
        table.setdefault(namespace, {})[name] = frozenset(normalize_host(h) for h in hosts)
        return RegistryCredentialIndex(
            table, self.namespaces | {namespace}, self.written, self.service_accounts
        )

    def without_secret(self, namespace: str, name: str) -> RegistryCredentialIndex:
        """A copy with one secret removed."""
        table = {ns: dict(names) for ns, names in self.secrets.items()}
        table.get(namespace, {}).pop(name, None)
        return RegistryCredentialIndex(
            table, self.namespaces | {namespace}, self.written, self.service_accounts
        )

    def with_service_account(
        self, namespace: str, name: str, pull_secrets: Iterable[str]
    ) -> RegistryCredentialIndex:
        """A copy that knows one more ServiceAccount's imagePullSecrets."""
        accounts = {**self.service_accounts, (namespace, name): tuple(pull_secrets)}
        return RegistryCredentialIndex(self.secrets, self.namespaces, self.written, accounts)

    def knows(self, namespace: str) -> bool:
        return namespace in self.namespaces

    def hosts(self, namespace: str, name: str) -> frozenset[str] | None:
        """The hosts of secret ``name`` in ``namespace``; None when no such secret is known."""
        return (self.secrets.get(namespace) or {}).get(name)

    def check(
        self, namespace: str, pull_secrets: Iterable[str], registry: str, service_account: str = "default"
    ) -> CredentialCheck:
        """What the pod's ``imagePullSecrets`` offer for ``registry``.

        A named secret that does not exist comes first unless another named one has an entry for
        the registry: the kubelet found nothing to send, whatever the registry answered."""
        named = tuple(pull_secrets)
        if not named:
            return self._unreferenced(namespace, registry, service_account)
        if not self.knows(namespace):
            return CredentialCheck(CredentialState.UNKNOWN, secret=named[0])
        existing = tuple(n for n in named if self.hosts(namespace, n) is not None)
        for name in existing:
            if any(host_matches(h, registry) for h in self.hosts(namespace, name) or ()):
                return CredentialCheck(
                    CredentialState.HAS_ENTRY,
                    secret=name,
                    existing=existing,
                    written_at=self.written.get((namespace, name)),
                )
        missing = [n for n in named if n not in existing]
        if missing:
            return CredentialCheck(CredentialState.SECRETS_ABSENT, secret=missing[0], existing=existing)
        return CredentialCheck(CredentialState.NO_ENTRY, secret=existing[0], existing=existing)

    def _unreferenced(self, namespace: str, registry: str, service_account: str) -> CredentialCheck:
        """The pod names no secret: is there one with an entry for ``registry`` to attach?"""
        for name, hosts in sorted((self.secrets.get(namespace) or {}).items()):
            if any(host_matches(h, registry) for h in hosts):
                account = self.service_accounts.get((namespace, service_account))
                attached = None if account is None else name in account
                return CredentialCheck(CredentialState.NO_SECRETS, unattached=name, attached=attached)
        return CredentialCheck(CredentialState.NO_SECRETS)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")
