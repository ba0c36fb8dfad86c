"""Image pull credentials, as the kubelet builds its keyring from pull secrets.

Secrets of type ``kubernetes.io/dockerconfigjson`` (``.dockerconfigjson``: ``{"auths": {server:
entry}}``) and ``kubernetes.io/dockercfg`` (``.dockercfg``: ``{server: entry}``) contribute
entries; an entry's ``auth`` (base64 ``user:password``) wins over ``username``/``password``.
Lookup follows k8s.io/kubernetes/pkg/credentialprovider (BasicDockerKeyring): keys lose their
scheme and a ``/v1/`` or ``/v2/`` path, match the image's repository host by glob part by part
with the same port and a path prefix; ``index.docker.io`` credentials also serve Docker Hub images.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"
_DEFAULT_REGISTRY_HOST = "index.docker.io"


@dataclass(frozen=True)
class Credential:
    server: str  # the key as written in the secret
    username: str
    password: str = field(repr=False)
    source: str = ""  # "namespace/secret" it came from

    def __repr__(self) -> str:  # never show the password
        return f"Credential(server={self.server!r}, username={self.username!r}, source={self.source!r})"


def _decode_entry(server: str, entry: Any, source: str) -> Credential | None:
    if not isinstance(entry, dict):
        return None
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    auth = entry.get("auth")
    if auth:
        try:
            decoded = base64.b64decode(str(auth), validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, secret = decoded.partition(":")
        if not sep:
            return None
        username, password = user, secret.strip("\x00")
    return Credential(server, username, password, source)


def credentials_from_secret(secret: dict[str, Any]) -> list[Credential]:
    """The keyring entries one Secret object contributes (none for other secret types)."""
    meta = secret.get("metadata") or {}
    source = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    data = secret.get("data") or {}
    secret_type = secret.get("type")
    if secret_type == DOCKER_CONFIG_JSON and data.get(".dockerconfigjson"):
        config = _decode_json(data[".dockerconfigjson"])
        entries = (config or {}).get("auths") if isinstance(config, dict) else None
    elif secret_type == DOCKER_CFG and data.get(".dockercfg"):
        entries = _decode_json(data[".dockercfg"])
    else:
        return []
    if not isinstance(entries, dict):
        return []
    result = []
    for server, entry in entries.items():
        credential = _decode_entry(str(server), entry, source)
        if credential is not None:
            result.append(credential)
    return result


def _decode_json(encoded: str) -> Any:
    try:
        return json.loads(base64.b64decode(encoded))
    except (binascii.Error, ValueError):
        return None


def _key_for(server: str) -> str:
    value = server if server.startswith(("http://", "https://")) else "https://" + server
    parts = urlsplit(value)
    path = parts.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parts.netloc + path if path and path != "/" else parts.netloc


def _split(url: str) -> tuple[list[str], str, str]:
    parts = urlsplit("https://" + url)
    host = parts.hostname or ""
    return host.split("."), str(parts.port or ""), parts.path


def _urls_match(glob: str, target: str) -> bool:
    glob_parts, glob_port, glob_path = _split(glob)
    target_parts, target_port, target_path = _split(target)
    if glob_port != target_port or len(glob_parts) != len(target_parts):
        return False
    if not all(fnmatch.fnmatchcase(t, g) for g, t in zip(glob_parts, target_parts, strict=True)):
        return False
    return target_path.startswith(glob_path)


def _is_default_registry_match(repository: str) -> bool:
    first, sep, _ = repository.partition("/")
    if not first:
        return False
    if not sep or first in ("docker.io", _DEFAULT_REGISTRY_HOST):
        return True
    return not any(ch in first for ch in ".:")


def lookup(credentials: list[Credential], repository: str) -> list[Credential]:
    """Credentials that apply to ``repository`` (e.g. ``10.0.0.130:5000/nginx``), most specific key first."""
    keyed: dict[str, list[Credential]] = {}
    for credential in credentials:
        keyed.setdefault(_key_for(credential.server), []).append(credential)
    # Reverse lexical order, like the keyring's sorted index: "host/path" before "host".
    result: list[Credential] = []
    for key in sorted(keyed, reverse=True):
        if _urls_match(key, repository):
            result.extend(keyed[key])
    if result:
        return result
    if _is_default_registry_match(repository):
        return keyed.get(_DEFAULT_REGISTRY_HOST, [])
    return []


def docker_config_json(server: str, username: str, password: str, email: str | None = None) -> dict[str, str]:
    """The ``data`` of a Secret as ``kubectl create secret docker-registry`` builds it."""
    entry: dict[str, str] = {"username": username, "password": password}
    if email:
        entry["email"] = email
    entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
    payload = json.dumps({"auths": {server: entry}}, separators=(",", ":"))
    return {".dockerconfigjson": base64.b64encode(payload.encode()).decode()}
