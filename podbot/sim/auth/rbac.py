"""Authentication, impersonation and authorization for the simulated API server.

Authorization is the union of two sources, as with a real cluster's RBAC:

1. a small YAML policy file (``--rbac FILE``; ``rbac_default.yaml`` when none is given)::

       users:                       # bearer tokens accepted besides the admin token
         alice: {token: alice-secret, groups: [developers]}
       rules:
         - subjects: [user:alice, group:developers, serviceaccount:podbot:podbot]
           verbs: [get, list, watch]            # "*" = any verb (impersonate included)
           apiGroups: [""]                      # optional, default ["*"]
           resources: [pods, pods/log, events]  # "*", "pods/*" and subresources like RBAC
           resourceNames: []                    # optional: only these object names
           namespaces: [dev]                    # optional, default ["*"]: all namespaces AND
                                                #   cluster-scoped resources; "" = cluster scope

2. the RBAC objects stored in the simulator (Role, ClusterRole, RoleBinding,
   ClusterRoleBinding), evaluated like the real RBAC authorizer, so ``kubectl apply`` of a
   deployment's RBAC grants what it would grant on a real cluster.

Users: the admin token (group ``system:masters``: everything) and the policy's users; every
authenticated user is also in ``system:authenticated``. Impersonation (``Impersonate-User``, one
``Impersonate-Group`` header line per group) needs the ``impersonate`` verb on ``users`` /
``groups`` / ``serviceaccounts`` and is checked before the request itself, as the real filter does.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Any

import yaml

from podbot.sim.objects.apierrors import status_forbidden

JSON = dict[str, Any]
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when available

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SA_PREFIX = "system:serviceaccount:"


class PolicyError(ValueError):
    """The RBAC policy file is malformed (raised at start-up, with the offending entry)."""


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes for a resource request (or a non-resource path when ``path``)."""

    user: UserInfo
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def resource_request(self) -> bool:
        return not self.path

    def forbidden_message(self) -> str:
        """The real ``forbiddenMessage`` (apiserver/pkg/endpoints/handlers/responsewriters)."""
        if not self.resource_request:
            return f'User "{self.user.name}" cannot {self.verb} path "{self.path}"'
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return (
            f'User "{self.user.name}" cannot {self.verb} resource "{resource}" in API group '
            f'"{self.api_group}" {where}'
        )


@dataclass(frozen=True)
class Rule:
    subjects: tuple[str, ...]
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    resource_names: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ("*",)

    def applies_to(self, user: UserInfo) -> bool:
        for subject in self.subjects:
            kind, _, name = subject.partition(":")
            if kind == "user" and name == user.name:
                return True
            if kind == "group" and name in user.groups:
                return True
            if kind == "serviceaccount" and user.name == SA_PREFIX + name:
                return True
        return False

    def allows(self, attrs: Attributes) -> bool:
        if not attrs.resource_request:
            return False
        if "*" not in self.namespaces and attrs.namespace not in self.namespaces:
            return False
        return rule_allows(self.verbs, self.api_groups, self.resources, self.resource_names, attrs)


def _resource_matches(rules: Sequence[str], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for rule in rules:
        if rule in ("*", combined):
            return True
        if subresource and rule == f"{resource}/*":
            return True
        if subresource and rule == f"*/{subresource}":
            return True
    return False


def rule_allows(
    verbs: Sequence[str],
    groups: Sequence[str],
    resources: Sequence[str],
    names: Sequence[str],
    attrs: Attributes,
) -> bool:
    """rbac.RuleAllows for a resource request."""
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if "*" not in groups and attrs.api_group not in groups:
        return False
    if not _resource_matches(resources, attrs.resource, attrs.subresource):
        return False
    return not names or attrs.name in names


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Policy:
    """The parsed policy file: token users and rules."""

    tokens: dict[str, UserInfo] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, data: Any, source: str = "policy") -> Policy:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: the top level must be a mapping with 'users' and 'rules'")
        unknown = set(data) - {"users", "rules"}
        if unknown:
            raise PolicyError(f"{source}: unknown top-level keys {sorted(unknown)} (expected users, rules)")
        tokens: dict[str, UserInfo] = {}
        for name, spec in (data.get("users") or {}).items():
            if not isinstance(spec, dict) or not isinstance(spec.get("token"), str) or not spec["token"]:
                raise PolicyError(f"{source}: users.{name}: needs a non-empty 'token'")
            groups = _strings(spec.get("groups"), f"{source}: users.{name}.groups")
            tokens[spec["token"]] = UserInfo(str(name), groups)
        rules: list[Rule] = []
        for i, raw in enumerate(data.get("rules") or ()):
            where = f"{source}: rules[{i}]"
            if not isinstance(raw, dict):
                raise PolicyError(f"{where}: expected a mapping")
            allowed = {"subjects", "verbs", "apiGroups", "resources", "resourceNames", "namespaces"}
            if set(raw) - allowed:
                raise PolicyError(f"{where}: unknown keys {sorted(set(raw) - allowed)}")
            subjects = _strings(raw.get("subjects"), f"{where}.subjects")
            for subject in subjects:
                if subject.partition(":")[0] not in ("user", "group", "serviceaccount") or ":" not in subject:
                    raise PolicyError(
                        f"{where}.subjects: {subject!r} must be "
                        "user:NAME, group:NAME or serviceaccount:NS:NAME"
                    )
            verbs = _strings(raw.get("verbs"), f"{where}.verbs")
            if not subjects or not verbs:
                raise PolicyError(f"{where}: 'subjects' and 'verbs' are required")
            rules.append(
                Rule(
                    subjects=subjects,
                    verbs=verbs,
                    api_groups=_strings(raw.get("apiGroups"), f"{where}.apiGroups") or ("*",),
                    resources=_strings(raw.get("resources"), f"{where}.resources") or ("*",),
                    resource_names=_strings(raw.get("resourceNames"), f"{where}.resourceNames"),
                    namespaces=_strings(raw.get("namespaces"), f"{where}.namespaces") or ("*",),
                )
            )
        return cls(tokens, tuple(rules))

    @classmethod
    def load(cls, path: Path | None) -> Policy:
        """The policy in ``path``, or the built-in default policy."""
        if path is None:
            text = (
                pkg_resources.files("podbot.sim.auth")
                .joinpath("rbac_default.yaml")
                .read_text(encoding="utf-8")
            )
            return cls.parse(yaml.load(text, Loader=_LOADER), "rbac_default.yaml")  # noqa: S506 - safe
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe
        except (OSError, yaml.YAMLError) as e:
            raise PolicyError(f"cannot read RBAC policy {path}: {e}") from e
        return cls.parse(data, str(path))


class Authenticator:
    """Bearer tokens -> users. Token comparison is constant-time; tokens never appear in errors."""

    def __init__(self, admin_token: str, policy: Policy) -> None:
        self._tokens = {admin_token: UserInfo("admin", (MASTERS,)), **policy.tokens}

    def authenticate(self, authorization: str | None) -> UserInfo | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        presented = authorization[len("Bearer ") :].strip()
        for token, user in self._tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                return with_authenticated(user)
        return None


def with_authenticated(user: UserInfo) -> UserInfo:
    if user.name == ANONYMOUS or AUTHENTICATED in user.groups or UNAUTHENTICATED in user.groups:
        return user
    return UserInfo(user.name, (*user.groups, AUTHENTICATED), user.uid, user.extra)


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer:
    """Policy rules first, then the stored RBAC objects (read through ``rbac_objects``)."""

    def __init__(self, policy: Policy, rbac_objects: RbacSource | None = None) -> None:
        self.policy = policy
        self.rbac_objects = rbac_objects

    def authorize(self, attrs: Attributes) -> Decision:
        if MASTERS in attrs.user.groups:
            return Decision(True, f'allowed: group "{MASTERS}"')
        if not attrs.resource_request:
            # Discovery, OpenAPI, /version and health are readable by every authenticated user
            # (the system:discovery and system:public-info-viewer ClusterRoles).
            return Decision(AUTHENTICATED in attrs.user.groups, "")
        for i, rule in enumerate(self.policy.rules):
            if rule.applies_to(attrs.user) and rule.allows(attrs):
                return Decision(True, f"allowed by podbot.sim policy rule {i}")
        if self.rbac_objects is not None:
            reason = self.rbac_objects.allows(attrs)
            if reason:
                return Decision(True, reason)
        return Decision(False, "")

    def rules_for(self, user: UserInfo, namespace: str) -> list[JSON]:
        """SelfSubjectRulesReview: the resource rules that apply to ``user`` in ``namespace``."""
        if MASTERS in user.groups:
            return [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        out: list[JSON] = []
        for rule in self.policy.rules:
            if rule.applies_to(user) and ("*" in rule.namespaces or namespace in rule.namespaces):
                entry: JSON = {
                    "verbs": list(rule.verbs),
                    "apiGroups": list(rule.api_groups),
                    "resources": list(rule.resources),
                }
                if rule.resource_names:
                    entry["resourceNames"] = list(rule.resource_names)
                out.append(entry)
        if self.rbac_objects is not None:
            out.extend(self.rbac_objects.rules_for(user, namespace))
        return out


RBAC_STORAGE = frozenset(
    {
        "roles.rbac.authorization.k8s.io",
        "clusterroles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
    }
)


class RbacSource:
    """Evaluates stored Role/ClusterRole/RoleBinding/ClusterRoleBinding objects.

    Parsed objects are cached per (resource, namespace) and dropped whenever an RBAC object
    changes (``invalidate``, wired to a store listener), so checks cost no JSON parsing."""

    def __init__(self, list_objects: Callable[[str, str], list[JSON]]) -> None:
        self._list_uncached = list_objects
        self._cache: dict[tuple[str, str], list[JSON]] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def _list(self, storage: str, namespace: str) -> list[JSON]:
        key = (storage, namespace)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = self._list_uncached(storage, namespace)
            with self._lock:
                self._cache[key] = cached
        return cached

    def _subject_matches(self, subject: JSON, user: UserInfo, binding_ns: str) -> bool:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User":
            return bool(name == user.name)
        if kind == "Group":
            return name in user.groups
        if kind == "ServiceAccount":
            ns = subject.get("namespace") or binding_ns
            return user.name == f"{SA_PREFIX}{ns}:{name}"
        return False

    def _role_rules(self, ref: JSON, namespace: str) -> Iterable[JSON]:
        if ref.get("kind") == "ClusterRole":
            roles = self._list("clusterroles.rbac.authorization.k8s.io", "")
        else:
            roles = self._list("roles.rbac.authorization.k8s.io", namespace)
        for role in roles:
            if role["metadata"]["name"] == ref.get("name"):
                yield from role.get("rules") or ()

    def _bindings(self, user: UserInfo, namespace: str) -> Iterable[tuple[str, JSON, str]]:
        for binding in self._list("clusterrolebindings.rbac.authorization.k8s.io", ""):
            if any(self._subject_matches(s, user, "") for s in binding.get("subjects") or ()):
                yield "ClusterRoleBinding", binding, ""
        if namespace:
            for binding in self._list("rolebindings.rbac.authorization.k8s.io", namespace):
                if any(self._subject_matches(s, user, namespace) for s in binding.get("subjects") or ()):
                    yield "RoleBinding", binding, namespace

    def allows(self, attrs: Attributes) -> str:
        for binding_kind, binding, ns in self._bindings(attrs.user, attrs.namespace):
            ref = binding.get("roleRef") or {}
            for rule in self._role_rules(ref, ns):
                if rule_allows(
                    rule.get("verbs") or (),
                    rule.get("apiGroups") or (),
                    rule.get("resources") or (),
                    rule.get("resourceNames") or (),
                    attrs,
                ):
                    where = f'"{binding["metadata"]["name"]}"'
                    if ns:
                        where += f' in namespace "{ns}"'
                    return (
                        f"RBAC: allowed by {binding_kind} {where} of {ref.get('kind')} "
                        f'"{ref.get("name")}" to User "{attrs.user.name}"'
                    )
        return ""

    def rules_for(self, user: UserInfo, namespace: str) -> list[JSON]:
        out: list[JSON] = []
        for _, binding, ns in self._bindings(user, namespace):
            for rule in self._role_rules(binding.get("roleRef") or {}, ns):
                out.append(
                    {
                        k: v
                        for k, v in rule.items()
                        if k in ("verbs", "apiGroups", "resources", "resourceNames")
                    }
                )
        return out


def forbidden(attrs: Attributes, reason: str = "") -> Exception:
    """The 403 ``Status`` for a denied request."""
    why = attrs.forbidden_message()
    if reason:
        why += f": {reason}"
    if not attrs.resource_request:
        return status_forbidden("", "", why)
    return status_forbidden(attrs.resource, attrs.name, why, attrs.api_group)
