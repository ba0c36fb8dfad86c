"""The port to a Kubernetes API server: what the action layer, the watch cache and the election need.

``KubeClient`` (podbot.k8s.client) is the real implementation over HTTP; tests of the action layer
pass a fake that answers from a dictionary (tests/support/fakekube.py). Paths and wire constants
live here so that code written against the port never imports the HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

JSON = dict[str, Any]
Query = Sequence[tuple[str, str | int | bool]]

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@dataclass(frozen=True)
class Identity:
    """A Kubernetes identity to impersonate (``Impersonate-User`` / ``Impersonate-Group``)."""

    user: str
    groups: tuple[str, ...] = ()


def path_for(
    api_version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path of a resource: ``/api/v1/namespaces/ns/pods/name/log``."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace is not None:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(plural)
    if name is not None:
        parts.append(quote(name, safe=""))
    if subresource is not None:
        parts.append(subresource)
    return "/".join(parts)


class Kube(Protocol):
    """One cluster (one kubeconfig context), spoken to in raw JSON; failures are PodbotErrors."""

    @property
    def context(self) -> str: ...

    @property
    def default_namespace(self) -> str: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: JSON | list[Any] | None = None,
        raw_body: str | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        as_user: Identity | None = None,
        timeout: float | None = None,
    ) -> JSON: ...

    def get(
        self,
        path: str,
        *,
        query: Query = (),
        accept: str = "application/json",
        as_user: Identity | None = None,
    ) -> JSON: ...

    def text(self, path: str, *, query: Query = (), as_user: Identity | None = None) -> str: ...

    def list_all(
        self, path: str, *, query: Query = (), page_size: int = 500, as_user: Identity | None = None
    ) -> tuple[list[JSON], str]: ...

    def list_pages(
        self, path: str, *, query: Query = (), page_size: int = 500, as_user: Identity | None = None
    ) -> Iterator[tuple[list[JSON], str]]: ...

    def version(self) -> JSON: ...


class KubeClusters(Protocol):
    """Every cluster podbot may talk to, by kubeconfig context name."""

    @property
    def default_context(self) -> str: ...

    @property
    def contexts(self) -> tuple[str, ...]: ...

    def get(self, context: str | None = None) -> Kube: ...
