"""Impersonation, as k8s.io/apiserver's impersonation filter does it.

``Impersonate-User`` (one), ``Impersonate-Group`` (one header *line* per group: a comma inside a
value is part of the group name), ``Impersonate-Uid`` and ``Impersonate-Extra-<key>``. The
requester needs the ``impersonate`` verb on each: ``users`` (or ``serviceaccounts`` in the SA's
namespace for ``system:serviceaccount:ns:name``), ``groups``, ``uids`` and ``userextras/<key>``;
a denial is a 403 naming the impersonation, not the request. The result is a user in
``system:authenticated`` (unless anonymous), with a service account's groups when none are given.
"""

from __future__ import annotations

from typing import Any

from podbot.sim.auth.rbac import (
    ANONYMOUS,
    SA_PREFIX,
    Attributes,
    Authorizer,
    UserInfo,
    forbidden,
    service_account_groups,
    with_authenticated,
)
from podbot.sim.objects.apierrors import status_internal

EXTRA_PREFIX = "impersonate-extra-"


def impersonate(headers: Any, user: UserInfo, authorizer: Authorizer) -> UserInfo:
    """The user a request acts as (``user`` itself when no impersonation headers are present)."""
    target = headers.get("Impersonate-User")
    groups: list[str] = headers.get_all("Impersonate-Group") or []
    uid = headers.get("Impersonate-Uid")
    extras = [(k, v) for k, v in headers.items() if k.lower().startswith(EXTRA_PREFIX)]
    if target is None:
        if groups or uid or extras:
            raise status_internal(f"requested {[('Group', g) for g in groups]} without impersonating a user")
        return user
    checks: list[Attributes] = []
    if target.startswith(SA_PREFIX):
        ns, _, name = target[len(SA_PREFIX) :].partition(":")
        checks.append(Attributes(user, "impersonate", "", "serviceaccounts", namespace=ns, name=name))
    else:
        checks.append(Attributes(user, "impersonate", "", "users", name=target))
    checks += [Attributes(user, "impersonate", "", "groups", name=group) for group in groups]
    if uid:
        checks.append(Attributes(user, "impersonate", "authentication.k8s.io", "uids", name=uid))
    extra_map: dict[str, list[str]] = {}
    for key, value in extras:
        extra_key = key[len(EXTRA_PREFIX) :].lower()
        extra_map.setdefault(extra_key, []).append(value)
        checks.append(
            Attributes(user, "impersonate", "authentication.k8s.io", "userextras", extra_key, name=value)
        )
    for attrs in checks:
        if not authorizer.authorize(attrs).allowed:
            raise forbidden(attrs)
    final_groups = list(groups)
    if target.startswith(SA_PREFIX) and not groups:
        final_groups = list(service_account_groups(target[len(SA_PREFIX) :].partition(":")[0]))
    impersonated = UserInfo(
        target, tuple(final_groups), uid or "", tuple((k, tuple(v)) for k, v in extra_map.items())
    )
    return impersonated if target == ANONYMOUS else with_authenticated(impersonated)
