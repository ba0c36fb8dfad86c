"""Access reviews answered from the same authorizer that guards every request.

SelfSubjectAccessReview (``kubectl auth can-i``), SubjectAccessReview, SelfSubjectRulesReview
(``kubectl auth can-i --list``) and authentication's SelfSubjectReview (``kubectl auth whoami``).
"""

from __future__ import annotations

from typing import Any

from podbot.sim.api.exchange import RequestInfo, json_response
from podbot.sim.auth.rbac import Attributes, Authorizer, UserInfo
from podbot.sim.objects.apierrors import invalid, status_invalid, status_method_not_allowed
from podbot.sim.objects.rest import Rest
from podbot.sim.wire.transport import Request, Response

JSON = dict[str, Any]

# system:discovery and system:public-info-viewer, as every authenticated user has them
DISCOVERY_RULES: list[JSON] = [
    {
        "verbs": ["get"],
        "nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
            "/version", "/version/",
        ],
    }
]  # fmt: skip


def review(req: Request, info: RequestInfo, user: UserInfo, rest: Rest, authorizer: Authorizer) -> Response:
    rt = info.rt
    if info.verb != "create":
        raise status_method_not_allowed()
    obj, _ = rest.decode(rt, req.body, req.headers.get("Content-Type") or "", "Strict")
    obj["metadata"] = {"creationTimestamp": None}
    spec = obj.get("spec") or {}
    if rt.kind == "SelfSubjectReview":
        user_info: JSON = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            user_info["uid"] = user.uid
        if user.extra:
            user_info["extra"] = {k: list(v) for k, v in user.extra}
        obj["status"] = {"userInfo": user_info}
        return json_response(201, obj)
    if rt.kind == "SelfSubjectRulesReview":
        obj["status"] = {
            "resourceRules": authorizer.rules_for(user, spec.get("namespace") or ""),
            "nonResourceRules": DISCOVERY_RULES,
            "incomplete": False,
        }
        return json_response(201, obj)
    subject = user
    if rt.kind == "SubjectAccessReview":
        if not spec.get("user") and not spec.get("groups"):
            error = invalid("spec.user", "", "at least one of user or group must be specified")
            raise status_invalid(rt.kind, "", [error], rt.group)
        subject = UserInfo(spec.get("user") or "", tuple(spec.get("groups") or ()), spec.get("uid") or "")
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if bool(resource) == bool(non_resource):
        error = invalid(
            "spec.resourceAttributes",
            resource or "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
        raise status_invalid(rt.kind, "", [error], rt.group)
    if resource:
        attrs = Attributes(
            subject,
            resource.get("verb") or "",
            resource.get("group") or "",
            resource.get("resource") or "",
            resource.get("subresource") or "",
            resource.get("namespace") or "",
            resource.get("name") or "",
        )
    else:
        attrs = Attributes(
            subject, (non_resource or {}).get("verb") or "", path=(non_resource or {}).get("path") or "/"
        )
    decision = authorizer.authorize(attrs)
    status: JSON = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    obj["status"] = status
    return json_response(201, obj)
