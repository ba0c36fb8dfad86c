"""What the registry table describes: registries, their accounts, repositories and tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from podbot.sim.images.reference import ImageReference


@dataclass(frozen=True)
class Account:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class TagInfo:
    size: int
    digest: str
    behaviour: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Repository:
    path: str
    private: bool
    tags: Mapping[str, TagInfo]

    def by_digest(self, digest: str) -> tuple[str, TagInfo] | None:
        for tag, info in self.tags.items():
            if info.digest == digest:
                return tag, info
        return None


@dataclass(frozen=True)
class RateLimit:
    anonymous: int | None
    authenticated: int | None
    window_seconds: float


@dataclass(frozen=True)
class Registry:
    host: str
    aliases: tuple[str, ...]
    endpoint: str
    scheme: str
    auth: str
    anonymous: bool
    accounts: tuple[Account, ...]
    dialect: str
    failure: str
    rate_limit: RateLimit | None
    address: str
    bandwidth: float  # bytes per second
    preloaded: bool
    repositories: Mapping[str, Repository]

    def manifest_url(self, ref: ImageReference, *, scheme: str | None = None) -> str:
        what = ref.digest or ref.effective_tag
        return f"{scheme or self.scheme}://{self.endpoint}/v2/{ref.path}/manifests/{what}"


@dataclass(frozen=True)
class ResolvedImage:
    """An image that exists in the table."""

    ref: ImageReference
    full_ref: str  # docker.io/library/nginx:1.16 (what containerd reports as the image)
    image_id: str  # docker.io/library/nginx@sha256:... (the imageID in container statuses)
    size: int
    behaviour: str
    params: Mapping[str, Any]
    tag: str


@dataclass(frozen=True)
class PullResult:
    duration: float
    image: ResolvedImage | None = None
    error: str | None = (
        None  # the CRI error text, as the kubelet prints it after "Failed to pull image ...: "
    )
    authenticated: bool = False
