"""Container image references, parsed the way the kubelet does (distribution/reference).

``nginx`` is ``docker.io/library/nginx:latest``; ``10.0.0.130:5000/nginx`` keeps its registry;
``index.docker.io`` is an alias of ``docker.io``; a digest (``@sha256:...``) may follow a tag.
Errors carry the library's own wording, which the kubelet copies into InvalidImageName messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO = "library"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")


class InvalidReference(ValueError):
    """The reference does not parse; ``str()`` is the library's message."""


@dataclass(frozen=True)
class ImageReference:
    domain: str  # registry host[:port], e.g. docker.io, 10.0.0.130:5000
    path: str  # repository path inside the registry, e.g. library/nginx
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The fully qualified repository, e.g. docker.io/library/nginx."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short form users type, e.g. nginx for docker.io/library/nginx."""
        if self.domain == DEFAULT_DOMAIN:
            prefix = OFFICIAL_REPO + "/"
            return self.path[len(prefix) :] if self.path.startswith(prefix) else self.path
        return self.name

    @property
    def effective_tag(self) -> str:
        """The tag pulled: the given one, or ``latest`` when neither tag nor digest was given."""
        if self.tag is not None:
            return self.tag
        return "" if self.digest else "latest"

    def with_default_tag(self) -> str:
        """Full reference as containerd names it: docker.io/library/nginx:latest (or @digest)."""
        text = self.name
        if self.tag is not None or self.digest is None:
            text += ":" + self.effective_tag
        if self.digest:
            text += "@" + self.digest
        return text


def split_domain(text: str) -> tuple[str, str]:
    """splitDockerDomain: the first component is a registry only if it looks like one."""
    first, sep, rest = text.partition("/")
    if not sep or (not any(ch in first for ch in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = f"{OFFICIAL_REPO}/{remainder}"
    return domain, remainder


def parse_reference(text: str) -> ImageReference:
    """ParseNormalizedNamed: raise InvalidReference with the library's wording."""
    if _ANCHORED_IDENTIFIER.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = split_domain(text)
    remote = remainder.split(":", 1)[0] if ":" in remainder else remainder
    remote = remote.split("@", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(f"invalid reference format: repository name ({remote}) must be lowercase")
    full = f"{domain}/{remainder}"
    match = _REFERENCE.match(full)
    if match is None:
        if not text:
            raise InvalidReference("repository name must have at least one component")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest is not None:
        algorithm, _, hex_part = digest.partition(":")
        if algorithm == "sha256" and len(hex_part) != 64:
            raise InvalidReference("invalid checksum digest length")
        if algorithm == "sha512" and len(hex_part) != 128:
            raise InvalidReference("invalid checksum digest length")
        if algorithm not in ("sha256", "sha384", "sha512"):
            raise InvalidReference("unsupported digest algorithm")
    host, _, path = name.partition("/")
    if not _DOMAIN_RE.match(host):
        raise InvalidReference("invalid reference format")
    return ImageReference(host, path, tag, digest)


def parse_image_name_error(image: str) -> str | None:
    """The kubelet's applyDefaultImageTag failure text for ``image``, or None if it parses."""
    try:
        parse_reference(image)
    except InvalidReference as err:
        return f'couldn\'t parse image name "{image}": {err}'
    return None
