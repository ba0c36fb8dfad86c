"""Discovery documents: legacy (/api, /apis, /api/v1, /apis/g/v) and aggregated (apidiscovery v2).

kubectl 1.32 asks for aggregated discovery first (one request for /api and one for /apis with
``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``) and falls back to
the legacy documents; both are served, generated from the resource table.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from podbot.sim.objects.resources import ResourceRegistry, ResourceType

JSON = dict[str, Any]

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "log": ["get"],
    "scale": ["get", "patch", "update"],
    "finalize": ["update"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "portforward": ["create", "get"],
    "ephemeralcontainers": ["get", "patch", "update"],
}


def _storage_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def version_info() -> JSON:
    return {
        "major": "1",
        "minor": "32",
        "emulationMajor": "1",
        "emulationMinor": "32",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "31",
        "gitVersion": "v1.32.0-podbot.sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> JSON:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_versions(group: str, versions: list[str]) -> JSON:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: ResourceRegistry) -> JSON:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_versions(g, vs) for g, vs in registry.groups()],
    }


def api_group(registry: ResourceRegistry, group: str) -> JSON | None:
    for name, versions in registry.groups():
        if name == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_versions(name, versions)}
    return None


def api_resource_list(registry: ResourceRegistry, group: str, version: str) -> JSON | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[JSON] = []
    for rt in types:
        entry: JSON = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        if not rt.virtual:
            entry["storageVersionHash"] = _storage_hash(rt)
        resources.append(entry)
        for sub in rt.subresources:
            resources.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": "Scale" if sub == "scale" else rt.kind,
                    "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
                    **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {}),
                }
            )
    doc: JSON = {"kind": "APIResourceList", "groupVersion": f"{group}/{version}" if group else version}
    if group:
        doc["apiVersion"] = "v1"
    doc["resources"] = resources
    return doc


def _aggregated_resource(rt: ResourceType) -> JSON:
    entry: JSON = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {
                "subresource": sub,
                "responseKind": (
                    {"group": "autoscaling", "version": "v1", "kind": "Scale"}
                    if sub == "scale"
                    else {"group": rt.group, "version": rt.version, "kind": rt.kind}
                ),
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            for sub in rt.subresources
        ]
    return entry


def aggregated(registry: ResourceRegistry, legacy: bool, api_version: str = "apidiscovery.k8s.io/v2") -> JSON:
    """APIGroupDiscoveryList for /api (legacy=True) or /apis."""
    items: list[JSON] = []
    if legacy:
        items.append(
            {
                "metadata": {"creationTimestamp": None},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [_aggregated_resource(rt) for rt in registry.in_group_version("", "v1")],
                        "freshness": "Current",
                    }
                ],
            }
        )
    else:
        for group, versions in registry.groups():
            items.append(
                {
                    "metadata": {"name": group, "creationTimestamp": None},
                    "versions": [
                        {
                            "version": v,
                            "resources": [
                                _aggregated_resource(rt) for rt in registry.in_group_version(group, v)
                            ],
                            "freshness": "Current",
                        }
                        for v in versions
                    ],
                }
            )
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
