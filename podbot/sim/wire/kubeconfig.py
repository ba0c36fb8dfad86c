"""The kubeconfig the simulator writes for kubectl and the Python client.

One cluster (``podbot-sim``) with the simulator's CA, one user (``podbot-sim-admin``) with the
admin bearer token, one context. The file is created with mode 0600: it holds a credential.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "podbot-sim"


def kubeconfig(url: str, token: str, ca_pem: bytes, namespace: str = "default") -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": f"{CONTEXT}-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-admin", "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, token: str, ca_pem: bytes) -> Path:
    """Write the kubeconfig atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(kubeconfig(url, token, ca_pem), handle, sort_keys=False)
    os.replace(tmp, path)
    return path
