"""Finding the deploy-checking tools: helm, hadolint (binaries) and kubernetes-validate (a library).

Each is installed from a package registry (see .ci/install-helm and the test extras). Missing
locally: the test is skipped with the reason; with CI=true it fails, as the kubectl tests do.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# kubernetes-validate's schemas: the oldest Kubernetes the chart supports (Chart.yaml kubeVersion
# >=1.25) and the newest one the package knows.
OLDEST_SCHEMA = "1.25.0"


def _missing(what: str) -> None:
    message = f"{what} is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI=true makes the deploy checks mandatory")
    pytest.skip(message)


def binary(name: str, hint: str) -> str:
    """``name`` from PATH or from this interpreter's virtualenv bin/."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        _missing(f"{name} ({hint})")
        raise AssertionError("unreachable")
    return found


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as module
    except ImportError:
        _missing("kubernetes-validate (pip install kubernetes-validate)")
    utils = module.utils
    if not hasattr(utils.schema_contents, "cache_info"):
        # It parses the kind's schema and all of _definitions.json (megabytes) on every call: once is
        # enough, they never change (and validation only reads them).
        utils.schema_contents = functools.cache(utils.schema_contents)
    return module


def dockerfile_parser() -> Any:
    """BuildKit's own Dockerfile parser (the ``dockerfile`` package wraps the Go code)."""
    try:
        import dockerfile as module
    except ImportError:
        _missing("dockerfile (pip install dockerfile)")
    return module


def schema_versions() -> tuple[str, str]:
    module = kubernetes_validate()
    return OLDEST_SCHEMA, str(module.latest_version())


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def validate_all(docs: list[dict[str, Any]]) -> None:
    """Strict validation (unknown fields are errors) against the oldest and the newest schemas."""
    module = kubernetes_validate()
    for version in schema_versions():
        for doc in docs:
            try:
                module.validate(doc, version, strict=True)
            except module.ValidationError as exc:
                name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
                raise AssertionError(f"{name} is invalid for Kubernetes {version}: {exc.message}") from exc


def iter_yaml_files() -> Iterator[Path]:
    """Every YAML file under deploy/ that is plain YAML (Helm templates are rendered, not parsed)."""
    for path in sorted(DEPLOY.rglob("*")):
        if "templates" in path.parts or not path.is_file():
            continue
        if path.suffix in (".yaml", ".yml") or path.name.endswith((".yaml.example", ".yml.example")):
            yield path
