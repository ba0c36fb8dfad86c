"""Helpers for the simulator tests: the real kubectl and a small HTTPS client bound to a SimCluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

JSON = dict[str, Any]


def kubectl_path() -> str | None:
    path = shutil.which("kubectl")
    if path is None and os.environ.get("CI") == "true":
        pytest.fail("kubectl is not on PATH, and CI=true makes the real-kubectl tests mandatory")
    return path


class Kubectl:
    """Runs the real kubectl against one kubeconfig with a private discovery cache and HOME."""

    def __init__(self, binary: str, kubeconfig: Path, home: Path) -> None:
        self.binary = binary
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(home / "cache"),
        }
        self.cache = home / "cache"

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, "--cache-dir", str(self.cache), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        return self.run(*args, stdin=stdin).stdout

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """Run a command that must fail; returns its stderr."""
        result = self.run(*args, stdin=stdin, check=False)
        assert result.returncode != 0, f"kubectl {' '.join(args)} unexpectedly succeeded:\n{result.stdout}"
        return result.stderr


class Api:
    """A minimal HTTPS client for the simulator (http.client + the cluster's CA), for exact wire checks."""

    def __init__(self, url: str, ca_pem: bytes, token: str | None) -> None:
        import ssl
        from urllib.parse import urlsplit

        split = urlsplit(url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 443
        self.context = ssl.create_default_context(cadata=ca_pem.decode())
        self.token = token

    def connect(self, timeout: float = 10) -> Any:
        import http.client

        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Sequence[tuple[str, str]] = (),
        *,
        content_type: str = "application/json",
    ) -> tuple[int, Any, bytes]:
        conn = self.connect()
        try:
            conn.putrequest(method, path)
            if self.token is not None:
                conn.putheader("Authorization", f"Bearer {self.token}")
            payload = b""
            if body is not None:
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                conn.putheader("Content-Type", content_type)
            conn.putheader("Content-Length", str(len(payload)))
            for name, value in headers:  # one header line each: repeated names stay separate lines
                conn.putheader(name, value)
            conn.endheaders(payload)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def json(
        self, method: str, path: str, body: Any = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, headers)
        return status, json.loads(data) if data else None

    def stream(
        self, path: str, headers: Sequence[tuple[str, str]] = (), timeout: float = 10
    ) -> Iterator[Any]:
        """Decoded JSON lines of a watch (the connection closes when the generator is closed)."""
        conn = self.connect(timeout)
        try:
            conn.putrequest("GET", path)
            if self.token is not None:
                conn.putheader("Authorization", f"Bearer {self.token}")
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            assert response.status == 200, response.read()
            while True:
                line = response.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()
