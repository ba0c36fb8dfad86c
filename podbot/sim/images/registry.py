"""The registry table: which images exist, who may pull them, and how pulls fail.

A YAML file (format below; the built-in default is ``podbot/sim/registry.yaml``) describes the
registries the simulated nodes can reach. A pull is decided like a real runtime would decide it:
unknown host -> name resolution failure; a registry marked broken -> its transport error;
credentials from pull secrets checked against the registry's accounts; unknown repository or tag
-> not found; rate limits; else success after a plausible transfer time. Error texts are the ones
containerd 1.7 (``dialect: containerd``, the default) or dockerd (``dialect: docker``, as in the
seed notes) really print, wrapped the way the CRI reports them (``rpc error: code = ... desc = ...``).

YAML format::

    registries:
      - host: docker.io                   # registry part of image references
        aliases: [index.docker.io]        # other names for it
        endpoint: registry-1.docker.io    # host the runtime connects to (appears in error URLs)
        scheme: https                     # http: a plain-HTTP registry the nodes are set up to use
        auth: token                       # none | basic | token
        anonymous: true                   # may pull public repositories without credentials
        accounts: [{username: podbot, password: "..."}]
        dialect: containerd               # containerd | docker: whose wording errors use
        failure: none                     # none | no-such-host | timeout | refused | http-to-https | x509
        rate_limit: {anonymous: 100, authenticated: 200, window_seconds: 21600}   # optional
        address: 203.0.113.10             # IP shown in dial errors
        bandwidth_mbps: 50                # pull speed
        preloaded: false                  # every node starts with all these images
        repositories:
          library/nginx:
            behaviour: nginx              # what containers of this image do (podbot.sim.behaviours.catalog)
            private: false                # needs credentials even where anonymous pulls are allowed
            params: {}                    # behaviour parameters
            tags:
              "1.16": {size: 51030575}    # bytes; optional digest, behaviour, params
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from podbot.sim.behaviours.catalog import BEHAVIOURS
from podbot.sim.images.credentials import Credential, lookup
from podbot.sim.images.model import (
    Account,
    PullResult,
    RateLimit,
    Registry,
    Repository,
    ResolvedImage,
    TagInfo,
)
from podbot.sim.images.pullerrors import Wording, transport_error, unknown_host_error
from podbot.sim.images.reference import DEFAULT_DOMAIN, ImageReference

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when available

AUTH_MODES = ("none", "basic", "token")
DIALECTS = ("containerd", "docker")
FAILURES = ("none", "no-such-host", "timeout", "refused", "http-to-https", "x509")


class RegistryTableError(ValueError):
    """The YAML does not describe a valid registry table; the message says where and why."""


class RateLimitLedger:
    """Pull counts per (registry, node, authenticated) inside the current window."""

    def __init__(self) -> None:
        self._pulls: dict[tuple[str, str, bool], list[float]] = {}

    def allow(self, registry: Registry, node: str, authenticated: bool, now: float) -> bool:
        limit = registry.rate_limit
        if limit is None:
            return True
        cap = limit.authenticated if authenticated else limit.anonymous
        if cap is None:
            return True
        key = (registry.host, node, authenticated)
        recent = [t for t in self._pulls.get(key, []) if now - t < limit.window_seconds]
        if len(recent) >= cap:
            self._pulls[key] = recent
            return False
        recent.append(now)
        self._pulls[key] = recent
        return True


class RegistryTable:
    """The registries nodes can reach, loaded from YAML (see module docstring)."""

    def __init__(self, registries: Sequence[Registry]) -> None:
        self.registries = tuple(registries)
        self._by_host: dict[str, Registry] = {}
        for registry in self.registries:
            for name in (registry.host, *registry.aliases):
                self._by_host[name] = registry

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def default(cls) -> RegistryTable:
        text = resources.files("podbot.sim.images").joinpath("registry.yaml").read_text(encoding="utf-8")
        return cls.from_yaml(text, source="podbot/sim/registry.yaml")

    @classmethod
    def load(cls, path: Path) -> RegistryTable:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise RegistryTableError(f"{path}: cannot read the registry table: {err.strerror}") from None
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<registry table>") -> RegistryTable:
        try:
            data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as err:
            raise RegistryTableError(f"{source}: not valid YAML: {err}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<registry table>") -> RegistryTable:
        if not isinstance(data, dict) or not isinstance(data.get("registries"), list):
            raise RegistryTableError(f"{source}: expected a mapping with a 'registries' list")
        registries = [
            _parse_registry(item, f"{source}: registries[{i}]") for i, item in enumerate(data["registries"])
        ]
        seen: set[str] = set()
        for registry in registries:
            for name in (registry.host, *registry.aliases):
                if name in seen:
                    raise RegistryTableError(f"{source}: host {name!r} is listed twice")
                seen.add(name)
        return cls(registries)

    # --- lookups ---------------------------------------------------------------------------
    def registry_for(self, domain: str) -> Registry | None:
        return self._by_host.get(domain)

    def resolve(self, ref: ImageReference) -> ResolvedImage | None:
        """The image if the table has it (whoever may pull it), else None."""
        registry = self.registry_for(ref.domain)
        if registry is None:
            return None
        repository = registry.repositories.get(ref.path)
        if repository is None:
            return None
        return _find_tag(registry, repository, ref)

    def preloaded_images(self) -> list[ResolvedImage]:
        images = []
        for registry in self.registries:
            if not registry.preloaded:
                continue
            for path, repository in registry.repositories.items():
                for tag, info in repository.tags.items():
                    ref = ImageReference(registry.host, path, tag, None)
                    images.append(_resolved(registry, ref, tag, info))
        return images

    # --- pulling ---------------------------------------------------------------------------
    def pull(
        self,
        ref: ImageReference,
        credentials: list[Credential],
        *,
        ledger: RateLimitLedger,
        node: str,
        now: float,
    ) -> PullResult:
        """Decide one PullImage call for ``ref`` with the pod's pull secrets' credentials."""
        registry = self.registry_for(ref.domain)
        full = ref.with_default_tag()
        if registry is None:
            return PullResult(0.05, error=unknown_host_error(ref, full))
        transport = transport_error(registry, ref, full)
        if transport is not None:
            return PullResult(transport[1], error=transport[0])
        matching = lookup(credentials, ref.name)
        if registry.auth == "none" or not matching:
            return self._pull_once(registry, ref, full, None, ledger, node, now)
        errors: list[str] = []
        duration = 0.0
        for credential in matching:
            result = self._pull_once(registry, ref, full, credential, ledger, node, now)
            duration += result.duration
            if result.error is None:
                return PullResult(duration, result.image, None, result.authenticated)
            errors.append(result.error)
        message = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return PullResult(duration, error=message)

    def _pull_once(
        self,
        registry: Registry,
        ref: ImageReference,
        full: str,
        credential: Credential | None,
        ledger: RateLimitLedger,
        node: str,
        now: float,
    ) -> PullResult:
        words = Wording(registry, ref, full)
        authenticated = False
        if registry.auth != "none" and credential is not None:
            if not any(
                a.username == credential.username and a.password == credential.password
                for a in registry.accounts
            ):
                return PullResult(0.3, error=words.wrong_credentials())
            authenticated = True
        repository = registry.repositories.get(ref.path)
        if registry.auth == "basic" and not authenticated and not registry.anonymous:
            return PullResult(0.2, error=words.missing_credentials())
        if repository is None:
            if registry.auth == "token":
                return PullResult(0.3, error=words.access_denied())
            return PullResult(0.3, error=words.not_found())
        if repository.private and not authenticated:
            if registry.auth == "token":
                return PullResult(0.3, error=words.access_denied())
            return PullResult(0.2, error=words.missing_credentials())
        image = _find_tag(registry, repository, ref)
        if image is None:
            return PullResult(0.3, error=words.not_found())
        if not ledger.allow(registry, node, authenticated, now):
            return PullResult(0.4, error=words.rate_limited(image))
        transfer = 0.3 + image.size / registry.bandwidth
        return PullResult(round(transfer, 3), image, None, authenticated)


def _find_tag(registry: Registry, repository: Repository, ref: ImageReference) -> ResolvedImage | None:
    if ref.digest is not None:
        found = repository.by_digest(ref.digest)
        if found is None:
            return None
        # With tag@digest the digest wins, as with containerd.
        return _resolved(registry, ref, found[0], found[1])
    tagged = repository.tags.get(ref.effective_tag)
    if tagged is None:
        return None
    return _resolved(registry, ref, ref.effective_tag, tagged)


def _resolved(registry: Registry, ref: ImageReference, tag: str, info: TagInfo) -> ResolvedImage:
    name = f"{registry.host}/{ref.path}"
    return ResolvedImage(
        ref=ref,
        full_ref=ref.with_default_tag() if ref.domain == registry.host else f"{name}:{tag}",
        image_id=f"{name}@{info.digest}",
        size=info.size,
        behaviour=info.behaviour,
        params=info.params,
        tag=tag,
    )


# --- parsing ---------------------------------------------------------------------------------
def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise RegistryTableError(f"{where}: {message}")


def _choice(raw: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str) -> str:
    value = str(raw.get(key, default))
    _require(value in choices, where, f"{key} must be one of {', '.join(choices)} (got {value!r})")
    return value


def _parse_registry(raw: Any, where: str) -> Registry:
    _require(isinstance(raw, dict), where, "expected a mapping")
    host = raw.get("host")
    _require(isinstance(host, str) and bool(host), where, "host is required")
    assert isinstance(host, str)
    where = f"{where} ({host})"
    known = {
        "host", "aliases", "endpoint", "scheme", "auth", "anonymous", "accounts", "dialect", "failure",
        "rate_limit", "address", "bandwidth_mbps", "preloaded", "repositories",
    }  # fmt: skip
    unknown = sorted(set(raw) - known)
    _require(not unknown, where, f"unknown field(s): {', '.join(unknown)}")
    auth = _choice(raw, "auth", AUTH_MODES, "none", where)
    accounts = []
    for i, account in enumerate(raw.get("accounts") or []):
        _require(
            isinstance(account, dict) and "username" in account and "password" in account,
            where,
            f"accounts[{i}] needs username and password",
        )
        accounts.append(Account(str(account["username"]), str(account["password"])))
    rate = raw.get("rate_limit")
    rate_limit = None
    if rate is not None:
        _require(isinstance(rate, dict), where, "rate_limit must be a mapping")
        rate_limit = RateLimit(
            _optional_int(rate.get("anonymous")),
            _optional_int(rate.get("authenticated")),
            float(rate.get("window_seconds", 21600)),
        )
    repositories_raw = raw.get("repositories") or {}
    _require(isinstance(repositories_raw, dict), where, "repositories must be a mapping")
    repositories = {
        str(path): _parse_repository(str(path), spec, host, f"{where}: repositories.{path}")
        for path, spec in repositories_raw.items()
    }
    scheme = _choice(raw, "scheme", ("https", "http"), "https", where)
    return Registry(
        host=host,
        aliases=tuple(str(a) for a in raw.get("aliases") or []),
        endpoint=str(raw.get("endpoint") or host),
        scheme=scheme,
        auth=auth,
        anonymous=bool(raw.get("anonymous", auth != "basic")),
        accounts=tuple(accounts),
        dialect=_choice(raw, "dialect", DIALECTS, "containerd", where),
        failure=_choice(raw, "failure", FAILURES, "none", where),
        rate_limit=rate_limit,
        address=str(raw.get("address") or "203.0.113.10"),
        bandwidth=float(raw.get("bandwidth_mbps", 50)) * 1_000_000,
        preloaded=bool(raw.get("preloaded", False)),
        repositories=repositories,
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _parse_repository(path: str, raw: Any, host: str, where: str) -> Repository:
    raw = raw or {}
    _require(isinstance(raw, dict), where, "expected a mapping")
    behaviour = str(raw.get("behaviour", "shell"))
    _require(
        behaviour in BEHAVIOURS,
        where,
        f"unknown behaviour {behaviour!r} (known: {', '.join(sorted(BEHAVIOURS))})",
    )
    params = dict(raw.get("params") or {})
    tags_raw = raw.get("tags") or {}
    _require(isinstance(tags_raw, dict) and bool(tags_raw), where, "tags must be a non-empty mapping")
    tags = {}
    for tag, given in tags_raw.items():
        spec = given or {}
        tag_where = f"{where}.tags.{tag}"
        _require(isinstance(spec, dict), tag_where, "expected a mapping")
        tag_behaviour = str(spec.get("behaviour", behaviour))
        _require(tag_behaviour in BEHAVIOURS, tag_where, f"unknown behaviour {tag_behaviour!r}")
        digest = str(
            spec.get("digest") or "sha256:" + hashlib.sha256(f"{host}/{path}:{tag}".encode()).hexdigest()
        )
        _require(
            digest.startswith("sha256:") and len(digest) == 71, tag_where, "digest must be sha256:<64 hex>"
        )
        tags[str(tag)] = TagInfo(
            size=int(spec.get("size", 30_000_000)),
            digest=digest,
            behaviour=tag_behaviour,
            params={**params, **dict(spec.get("params") or {})},
        )
    return Repository(path=path, private=bool(raw.get("private", False)), tags=tags)


__all__ = [
    "DEFAULT_DOMAIN",
    "Account",
    "PullResult",
    "RateLimitLedger",
    "Registry",
    "RegistryTable",
    "RegistryTableError",
    "ResolvedImage",
]
