"""The simulated kubelets, in process on a store + clock(speed=0): pulls, back-offs, lifecycles, logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbot.sim.objects.meta import SimApiError, stamp_new
from tests.support.seed import SEED_IMAGE
from tests.support.simkube import KubeEnv, nginx_pod

JSON = dict[str, Any]

SEED_ERROR = (
    "rpc error: code = Unknown desc = Error response from daemon: "
    "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: no basic auth credentials"
)
SEED_POD = {
    "metadata": {"name": "nginx", "labels": {"app": "web"}},
    "spec": {
        "containers": [{"name": "nginx", "image": SEED_IMAGE, "ports": [{"containerPort": 80}]}],
        "imagePullSecrets": [{"name": "myregistrykey"}],
    },
}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[KubeEnv]:
    cluster = KubeEnv(tmp_path)
    yield cluster
    cluster.close()


def _state(status: JSON) -> tuple[str, str | None]:
    kind, detail = next(iter(status["state"].items()))
    return kind, detail.get("reason")


# --- the seed scenario ---------------------------------------------------------------------------
def test_seed_pod_fails_without_its_pull_secret_and_runs_once_the_secret_exists(env: KubeEnv) -> None:
    uid = env.create_pod(SEED_POD)["metadata"]["uid"]
    env.advance(1)
    nginx = env.container("nginx")
    assert nginx["state"] == {"waiting": {"reason": "ErrImagePull", "message": SEED_ERROR}}
    assert env.pod("nginx")["status"]["phase"] == "Pending"
    messages = env.messages("nginx")
    assert ("Warning", "Failed", f'Failed to pull image "{SEED_IMAGE}": {SEED_ERROR}') in messages
    assert ("Warning", "Failed", "Error: ErrImagePull") in messages
    assert (
        "Warning",
        "FailedToRetrieveImagePullSecret",
        "Unable to retrieve some image pull secrets (myregistrykey); attempting to pull the image may "
        "not succeed.",
    ) in messages

    # The second failure doubles the back-off; syncs inside it report ImagePullBackOff.
    seen: set[str | None] = set()
    for _ in range(8):
        env.advance(5)
        seen.add(_state(env.container("nginx"))[1])
    assert seen >= {"ErrImagePull", "ImagePullBackOff"}
    while _state(env.container("nginx"))[1] != "ImagePullBackOff":
        env.advance(1)
    assert env.container("nginx")["state"]["waiting"]["message"] == (
        f'Back-off pulling image "{SEED_IMAGE}": ErrImagePull: {SEED_ERROR}'
    )
    assert ("Normal", "BackOff", f'Back-off pulling image "{SEED_IMAGE}"') in env.messages("nginx")
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in env.messages("nginx")
    failed = next(e for e in env.events("nginx") if e["message"].startswith("Failed to pull image"))
    assert failed["count"] >= 2 and failed["firstTimestamp"] < failed["lastTimestamp"]
    assert failed["source"] == {"component": "kubelet", "host": env.pod("nginx")["spec"]["nodeName"]}
    assert failed["involvedObject"]["fieldPath"] == "spec.containers{nginx}"

    # kubectl create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 ...
    env.create_secret("myregistrykey", "10.0.0.130:5000", "test", "123456")
    env.advance(320)  # at most one full back-off (5m) later
    pod = env.pod("nginx")
    assert pod["metadata"]["uid"] == uid  # the same pod, not a new one
    assert pod["status"]["phase"] == "Running"
    nginx = env.container("nginx")
    assert _state(nginx) == ("running", None)
    assert nginx["ready"] is True and nginx["restartCount"] == 0
    assert nginx["image"] == SEED_IMAGE
    assert nginx["imageID"].startswith("10.0.0.130:5000/nginx@sha256:")
    assert env.condition("nginx", "Ready")["status"] == "True"


def test_seed_pod_events_look_like_the_seed_notes_after_fifteen_minutes(env: KubeEnv) -> None:
    env.create_pod(SEED_POD)
    env.advance(15 * 60)
    failed = next(e for e in env.events("nginx") if e["message"].startswith("Failed to pull image"))
    # The kubelet's event spam filter caps what reaches the API: a handful of failures early on.
    assert 2 <= failed["count"] <= 6
    assert failed["lastTimestamp"] < "2025-03-01T09:05:00Z"
    backoff = next(e for e in env.events("nginx") if e["reason"] == "BackOff")
    assert backoff["count"] > failed["count"]


def test_a_wrong_password_fails_differently_from_a_missing_one(env: KubeEnv) -> None:
    env.create_secret("myregistrykey", "10.0.0.130:5000", "test", "654321")
    env.create_pod(SEED_POD)
    env.advance(1)
    assert env.container("nginx")["state"]["waiting"]["message"] == (
        "rpc error: code = Unknown desc = Error response from daemon: "
        "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: unauthorized: authentication required"
    )
    assert not any(reason == "FailedToRetrieveImagePullSecret" for _, reason, _ in env.messages("nginx"))


def test_service_account_pull_secrets_reach_pods_created_after_them(env: KubeEnv) -> None:
    """As in a real cluster: the admission plugin copies the account's pull secrets into a pod
    when it is created; the kubelet reads only the pod's own list (getPullSecretsForPod)."""
    env.create_pod(nginx_pod("web", SEED_IMAGE))
    env.advance(2)
    assert _state(env.container("web")) == ("waiting", "ErrImagePull")
    env.create_secret("regcred", "http://10.0.0.130:5000", "test", "123456")

    def add_pull_secret(sa: JSON) -> JSON:
        sa["imagePullSecrets"] = [{"name": "regcred"}]
        return sa

    env.store.mutate("serviceaccounts", "default", "default", add_pull_secret)
    env.create_pod(nginx_pod("web-2", SEED_IMAGE))
    env.advance(320)
    assert env.pod("web")["status"]["phase"] == "Pending"  # the account's change came too late for it
    assert env.pod("web-2")["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert env.pod("web-2")["status"]["phase"] == "Running"


# --- container lifecycles ------------------------------------------------------------------------
def test_crash_loop_backs_off_like_the_kubelet(env: KubeEnv) -> None:
    uid = env.create_pod(nginx_pod("orders", "podbot/crash:1.0"))["metadata"]["uid"]
    backoffs: list[str] = []
    restarts = []
    for _ in range(20 * 60):
        env.advance(1)
        status = env.container("orders")
        waiting = status["state"].get("waiting")
        if (
            waiting
            and waiting["reason"] == "CrashLoopBackOff"
            and (not backoffs or backoffs[-1] != waiting["message"])
        ):
            backoffs.append(waiting["message"])
        if not restarts or restarts[-1] != status["restartCount"]:
            restarts.append(status["restartCount"])
    delays = [m.split()[1] for m in backoffs]
    assert delays[:6] == ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]
    assert set(delays[6:]) <= {"5m0s"}
    assert backoffs[0] == f"back-off 10s restarting failed container=orders pod=orders_default({uid})"
    assert restarts == list(range(len(restarts))) and restarts[-1] >= 7
    status = env.container("orders")
    terminated = status["lastState"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    assert terminated["containerID"].startswith("containerd://")
    assert env.pod("orders")["status"]["phase"] == "Running"
    assert env.condition("orders", "Ready")["message"] == "containers with unready status: [orders]"
    backoff = next(e for e in env.events("orders") if e["reason"] == "BackOff")
    assert backoff["type"] == "Warning"
    assert backoff["message"] == f"Back-off restarting failed container orders in pod orders_default({uid})"
    assert (
        "Normal",
        "Pulled",
        'Container image "podbot/crash:1.0" already present on machine',
    ) in env.messages("orders")
    previous = env.pool.logs("default", "orders", None, previous=True)
    assert previous[-1] == "KeyError: 'DATABASE_URL'"
    assert previous[0].endswith("INFO starting orders-api v2.3.1 (pid 1)")


def test_oom_killed_container(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "leak"},
            "spec": {
                "containers": [
                    {"name": "leak", "image": "podbot/oom", "resources": {"limits": {"memory": "256Mi"}}}
                ]
            },
        }
    )
    env.advance(8)
    last = env.container("leak")["lastState"]
    current = env.container("leak")["state"]
    terminated = last.get("terminated") or current.get("terminated")
    assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")
    assert (
        env.pod("leak")["status"]["qosClass"] == "Guaranteed"
        or env.pod("leak")["status"]["qosClass"] == "Burstable"
    )


@pytest.mark.parametrize(
    ("policy", "command", "phase", "exit_code", "reason"),
    [
        ("Never", None, "Succeeded", 0, "Completed"),
        ("OnFailure", None, "Succeeded", 0, "Completed"),
        ("Never", ["sh", "-c", "echo failing; exit 3"], "Failed", 3, "Error"),
    ],
)
def test_completing_pods_reach_a_terminal_phase(
    env: KubeEnv, policy: str, command: list[str] | None, phase: str, exit_code: int, reason: str
) -> None:
    container: JSON = {"name": "job", "image": "podbot/job:1.0"}
    if command:
        container = {"name": "job", "image": "busybox:1.36", "command": command}
    env.create_pod(
        {"metadata": {"name": "job"}, "spec": {"restartPolicy": policy, "containers": [container]}}
    )
    env.advance(20)
    pod = env.pod("job")
    assert pod["status"]["phase"] == phase
    terminated = env.container("job")["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (exit_code, reason)
    assert env.container("job")["restartCount"] == 0
    ready = env.condition("job", "Ready")
    assert (ready["status"], ready["reason"]) == (
        "False",
        "PodCompleted" if phase == "Succeeded" else "PodFailed",
    )
    assert env.condition("job", "PodReadyToStartContainers")["status"] == "False"
    env.advance(600)
    assert env.pod("job")["status"]["phase"] == phase  # nothing restarts a terminal pod


def test_on_failure_restarts_failing_containers(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "retry"},
            "spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 1"]}],
            },
        }
    )
    env.advance(60)
    status = env.container("retry")
    assert status["restartCount"] >= 2
    assert env.pod("retry")["status"]["phase"] == "Running"


def test_busybox_without_a_command_crash_loops_as_completed(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("bb", "busybox"))
    env.advance(30)
    status = env.container("bb")
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert (status["lastState"]["terminated"]["reason"], status["lastState"]["terminated"]["exitCode"]) == (
        "Completed",
        0,
    )


def test_a_missing_program_is_a_start_error(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "bad"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["derekisbad"]}]},
        }
    )
    env.advance(3)
    status = env.container("bad")
    assert status["state"]["waiting"]["reason"] in ("RunContainerError", "CrashLoopBackOff")
    terminated = status["lastState"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["startedAt"]) == (
        128,
        "StartError",
        "1970-01-01T00:00:00Z",
    )
    assert 'exec: "derekisbad": executable file not found in $PATH' in terminated["message"]
    assert any(m.startswith("Error: failed to create containerd task") for _, _, m in env.messages("bad"))


# --- image problems ------------------------------------------------------------------------------
def test_invalid_image_name(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("upper", "Nginx:1.16"))
    env.advance(2)
    waiting = env.container("upper")["state"]["waiting"]
    assert waiting == {
        "reason": "InvalidImageName",
        "message": 'Failed to apply default image tag "Nginx:1.16": couldn\'t parse image name "Nginx:1.16": '
        "invalid reference format: repository name (library/Nginx) must be lowercase",
    }
    assert ("Warning", "InspectFailed", waiting["message"]) in env.messages("upper")
    assert ("Warning", "Failed", "Error: InvalidImageName") in env.messages("upper")


def test_never_pull_policy_needs_the_image_on_the_node(env: KubeEnv) -> None:
    pod = nginx_pod("local", "nginx:1.25")
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    env.create_pod(pod)
    env.advance(2)
    assert env.container("local")["state"]["waiting"] == {
        "reason": "ErrImageNeverPull",
        "message": 'Container image "nginx:1.25" is not present with pull policy of Never',
    }
    # Images kubeadm pre-pulled are present on every node.
    pod = nginx_pod("pause", "registry.k8s.io/pause:3.10")
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    env.create_pod(pod)
    env.advance(2)
    assert _state(env.container("pause")) == ("running", None)
    assert (
        "Normal",
        "Pulled",
        'Container image "registry.k8s.io/pause:3.10" already present on machine',
    ) in env.messages("pause")


def test_pulls_are_serialized_per_node(env: KubeEnv) -> None:
    for name, image in (("a", "postgres:17"), ("b", "mysql:8.4")):
        pod = nginx_pod(name, image)
        pod["spec"]["nodeName"] = "node02"
        env.create_pod(pod)
    env.advance(15)
    pulled = next(m for _, r, m in env.messages("b") if r == "Pulled")
    pull, waited = pulled.split(" in ")[1].split(" (")
    assert float(waited.split("s")[0]) > float(pull.rstrip("s")) + 3  # waited for postgres' pull first


def test_missing_config_and_volumes_block_the_start(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "db"},
            "spec": {
                "containers": [
                    {
                        "name": "pg",
                        "image": "postgres:17",
                        "env": [
                            {
                                "name": "POSTGRES_PASSWORD",
                                "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
                            }
                        ],
                    }
                ]
            },
        }
    )
    env.create_pod(
        {
            "metadata": {"name": "vol"},
            "spec": {
                "volumes": [{"name": "cfg", "configMap": {"name": "settings"}}],
                "containers": [{"name": "c", "image": "nginx:1.25"}],
            },
        }
    )
    env.advance(5)
    assert env.container("db")["state"]["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": 'secret "db" not found',
    }
    assert ("Warning", "Failed", 'Error: secret "db" not found') in env.messages("db")
    assert _state(env.container("vol")) == ("waiting", "ContainerCreating")
    assert (
        "Warning",
        "FailedMount",
        'MountVolume.SetUp failed for volume "cfg" : configmap "settings" not found',
    ) in env.messages("vol")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "type": "Opaque",
        "data": {"password": "czNjcjN0"},
    }
    env.store.create("secrets", stamp_new(secret, env.clock))
    env.store.create(
        "configmaps",
        stamp_new(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "default"},
                "data": {},
            },
            env.clock,
        ),
    )
    env.advance(20)
    assert env.pod("db")["status"]["phase"] == "Running"  # postgres got its password and stays up
    assert env.pod("vol")["status"]["phase"] == "Running"


# --- init containers and sidecars ----------------------------------------------------------------
def _init_pod(name: str, init: list[JSON], app: list[JSON] | None = None, policy: str = "Always") -> JSON:
    return {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": policy,
            "initContainers": init,
            "containers": app or [{"name": "app", "image": "nginx:1.25"}],
        },
    }


def test_init_containers_run_in_order_before_the_app(env: KubeEnv) -> None:
    env.create_pod(
        _init_pod(
            "web",
            [
                {"name": "init-a", "image": "busybox:1.36", "command": ["sh", "-c", "echo a; sleep 5"]},
                {"name": "init-b", "image": "busybox:1.36", "command": ["sh", "-c", "echo b; sleep 5"]},
            ],
        )
    )
    env.advance(0.5)
    initialized = env.condition("web", "Initialized")
    assert (initialized["status"], initialized["reason"], initialized["message"]) == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [init-a init-b]",
    )
    assert _state(env.container("web", "app")) == ("waiting", "PodInitializing")
    env.advance(3)
    assert _state(env.container("web", "init-a", init=True)) == ("running", None)
    assert _state(env.container("web", "init-b", init=True)) == ("waiting", "PodInitializing")
    env.advance(5)
    assert _state(env.container("web", "init-a", init=True)) == ("terminated", "Completed")
    assert _state(env.container("web", "init-b", init=True)) == ("running", None)
    env.advance(10)
    assert env.pod("web")["status"]["phase"] == "Running"
    assert env.condition("web", "Initialized")["status"] == "True"
    started = [m for _, r, m in env.messages("web") if r == "Started"]
    assert started == ["Started container init-a", "Started container init-b", "Started container app"]
    assert env.pool.logs("default", "web", "init-b") == ["b"]


def test_a_failing_init_container_crash_loops_or_fails_the_pod(env: KubeEnv) -> None:
    failing = [{"name": "check", "image": "busybox", "command": ["sh", "-c", "echo checking; exit 2"]}]
    env.create_pod(_init_pod("always", failing))
    env.create_pod(_init_pod("never", failing, policy="Never"))
    env.advance(40)
    check = env.container("always", "check", init=True)
    assert check["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert check["lastState"]["terminated"]["exitCode"] == 2
    assert env.pod("always")["status"]["phase"] == "Pending"
    assert _state(env.container("always", "app")) == ("waiting", "PodInitializing")
    assert env.pod("never")["status"]["phase"] == "Failed"
    assert env.container("never", "check", init=True)["state"]["terminated"]["exitCode"] == 2
    assert env.container("never", "check", init=True)["restartCount"] == 0


def test_init_container_image_pull_back_off(env: KubeEnv) -> None:
    env.create_pod(_init_pod("pull", [{"name": "fetch", "image": "nosuch.example.com/tools:1"}]))
    env.advance(60)
    reasons = {_state(env.container("pull", "fetch", init=True))[1]}
    for _ in range(30):
        env.advance(1)
        reasons.add(_state(env.container("pull", "fetch", init=True))[1])
    assert "ImagePullBackOff" in reasons
    assert _state(env.container("pull", "app")) == ("waiting", "PodInitializing")


def test_sidecars_start_first_keep_running_and_stop_after_the_job(env: KubeEnv) -> None:
    env.create_pod(
        _init_pod(
            "batch",
            [
                {
                    "name": "shipper",
                    "image": "busybox",
                    "restartPolicy": "Always",
                    "command": [
                        "sh",
                        "-c",
                        "trap 'exit 0' TERM; while true; do echo shipping; sleep 2; done",
                    ],
                }
            ],
            [{"name": "main", "image": "podbot/job"}],
            policy="Never",
        )
    )
    env.advance(3)
    assert _state(env.container("batch", "shipper", init=True)) == ("running", None)
    assert env.container("batch", "shipper", init=True)["started"] is True
    assert env.pod("batch")["status"]["phase"] == "Running"
    env.advance(15)
    pod = env.pod("batch")
    assert pod["status"]["phase"] == "Succeeded"
    assert _state(env.container("batch", "shipper", init=True)) == ("terminated", "Completed")
    assert ("Normal", "Killing", "Stopping container shipper") in env.messages("batch")


# --- readiness ------------------------------------------------------------------------------------
def test_slow_start_is_unready_until_its_readiness_probe_passes(env: KubeEnv) -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}
    env.create_pod(
        {
            "metadata": {"name": "slow"},
            "spec": {"containers": [{"name": "app", "image": "podbot/slow-start", "readinessProbe": probe}]},
        }
    )
    env.create_pod(nginx_pod("noprobe", "podbot/slow-start"))
    env.advance(10)
    assert env.pod("slow")["status"]["phase"] == "Running"
    assert env.container("slow")["ready"] is False
    assert env.container("noprobe")["ready"] is True  # no probe: the kubelet cannot know
    ip = env.pod("slow")["status"]["podIP"]
    assert (
        "Warning",
        "Unhealthy",
        f'Readiness probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: '
        "connection refused",
    ) in env.messages("slow")
    env.advance(30)
    assert env.container("slow")["ready"] is True
    assert env.condition("slow", "Ready")["status"] == "True"


# --- scheduling -----------------------------------------------------------------------------------
def test_unschedulable_pod_waits_and_is_placed_when_a_node_fits(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("ssd", "nginx:1.25", nodeSelector={"disktype": "ssd"}))
    env.advance(1)
    message = (  # node01 is kubeadm's tainted control plane, node02 lacks the label
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had "
        "untolerated taint {node-role.kubernetes.io/control-plane: }. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    )
    condition = env.condition("ssd", "PodScheduled")
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "Unschedulable",
        message,
    )
    [event] = [e for e in env.events("ssd") if e["reason"] == "FailedScheduling"]
    assert (event["type"], event["message"], event["reportingComponent"]) == (
        "Warning",
        message,
        "default-scheduler",
    )
    assert env.pod("ssd")["status"]["phase"] == "Pending" and "nodeName" not in env.pod("ssd")["spec"]

    def label(node: JSON) -> JSON:
        node["metadata"]["labels"]["disktype"] = "ssd"
        return node

    env.store.mutate("nodes", "", "node02", label)
    env.advance(5)
    pod = env.pod("ssd")
    assert pod["spec"]["nodeName"] == "node02"
    assert env.condition("ssd", "PodScheduled")["status"] == "True"
    assert ("Normal", "Scheduled", "Successfully assigned default/ssd to node02") in env.messages("ssd")
    assert pod["status"]["phase"] == "Running"


def test_scheduling_messages_for_taints_and_resources(env: KubeEnv) -> None:
    def taint(node: JSON) -> JSON:
        node.setdefault("spec", {})["taints"] = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
        return node

    env.store.mutate("nodes", "", "node01", taint)
    env.create_pod(
        {
            "metadata": {"name": "big"},
            "spec": {
                "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "8"}}}]
            },
        }
    )
    env.advance(1)
    assert env.condition("big", "PodScheduled")["message"] == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling.."
    )


def test_preset_node_name_skips_the_scheduler(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("pinned", "nginx:1.25", nodeName="node01"))
    env.advance(5)
    assert env.pod("pinned")["status"]["phase"] == "Running"
    assert not any(r == "Scheduled" for _, r, _ in env.messages("pinned"))
    assert env.pod("pinned")["status"]["podIP"].startswith("10.244.0.")


def test_pod_ips_come_from_the_node_cidr_and_host_network_uses_the_node_ip(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("a", "nginx:1.25", nodeName="node02"))
    env.create_pod(nginx_pod("b", "nginx:1.25", nodeName="node02"))
    env.create_pod(nginx_pod("h", "nginx:1.25", nodeName="node02", hostNetwork=True))
    env.advance(5)
    ips = [env.pod(n)["status"]["podIP"] for n in ("a", "b", "h")]
    assert ips[0].startswith("10.244.1.") and ips[1].startswith("10.244.1.") and ips[0] != ips[1]
    assert ips[2] == env.pod("h")["status"]["hostIP"] == "10.0.0.131"


# --- deletion --------------------------------------------------------------------------------------
def test_graceful_deletion_stops_containers_then_deletes_the_pod(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("web", "nginx:1.25"))
    env.create_pod(
        {
            "metadata": {"name": "sleeper"},
            "spec": {"containers": [{"name": "bb", "image": "busybox", "command": ["sleep", "3600"]}]},
        }
    )
    env.advance(10)
    uid = env.pod("web")["metadata"]["uid"]
    env.delete_pod("web")
    env.delete_pod("sleeper", grace=5)
    assert ("Normal", "Killing", "Stopping container web") in env.messages("web")
    assert ("Normal", "Killing", "Stopping container bb") in env.messages("sleeper")
    env.advance(1)
    assert not env.exists("web")  # nginx stops on its stop signal at once
    assert env.exists("sleeper")  # sleep ignores SIGTERM: killed at the end of the grace period
    env.advance(3.5)
    assert env.exists("sleeper")
    env.advance(1)
    assert not env.exists("sleeper")
    env.advance(60)
    assert not env.exists("web") and not any(
        w.uid == uid for k in env.pool.kubelets.values() for w in k.workers.values()
    )


def test_deleting_a_pending_pod_is_quick(env: KubeEnv) -> None:
    env.create_pod(SEED_POD)
    env.advance(20)
    env.delete_pod("nginx")
    env.advance(1)
    assert not env.exists("nginx")


# --- logs ------------------------------------------------------------------------------------------
def test_logs_errors_carry_the_api_servers_messages(env: KubeEnv) -> None:
    env.create_pod(SEED_POD)
    env.create_pod(
        {
            "metadata": {"name": "two"},
            "spec": {
                "initContainers": [{"name": "setup", "image": "busybox", "command": ["true"]}],
                "containers": [{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "redis"}],
            },
        }
    )
    env.create_pod(nginx_pod("creating", "postgres:17"))
    env.advance(0.2)

    def error(*args: Any, **kwargs: Any) -> tuple[int, str]:
        with pytest.raises(SimApiError) as err:
            env.pool.logs(*args, **kwargs)
        return err.value.code, err.value.message

    assert error("default", "creating", None) == (
        400,
        'container "creating" in pod "creating" is waiting to start: ContainerCreating',
    )
    env.advance(1)
    assert error("default", "nginx", None) == (
        400,
        'container "nginx" in pod "nginx" is waiting to start: image can\'t be pulled',
    )
    while _state(env.container("nginx"))[1] != "ImagePullBackOff":
        env.advance(1)
    assert error("default", "nginx", "nginx") == (
        400,
        'container "nginx" in pod "nginx" is waiting to start: trying and failing to pull image',
    )
    assert error("default", "nosuch", None) == (404, 'pods "nosuch" not found')
    assert error("default", "two", None) == (
        400,
        "a container name must be specified for pod two, choose one of: [setup a b]",
    )
    assert error("default", "two", "c") == (400, "container c is not valid for pod two")
    env.advance(10)
    assert error("default", "two", "a", previous=True) == (
        400,
        'previous terminated container "a" in pod "two" not found',
    )


def test_logs_options(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "ticker"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox",
                        "command": ["sh", "-c", "while true; do echo tick; sleep 10; done"],
                    }
                ]
            },
        }
    )
    env.advance(61)
    lines = env.pool.logs("default", "ticker", None)
    assert lines == ["tick"] * 7
    assert env.pool.logs("default", "ticker", None, tail_lines=2) == ["tick", "tick"]
    assert len(env.pool.logs("default", "ticker", None, since_seconds=25)) == 3
    stamped = env.pool.logs("default", "ticker", None, timestamps=True, tail_lines=1)
    assert stamped[0].startswith("2025-03-01T09:01:0") and stamped[0].endswith("Z tick")
    assert len(stamped[0].split()[0]) == len("2025-03-01T09:01:00.000000000Z")


def test_follow_logs_streams_until_the_container_exits(env: KubeEnv) -> None:
    import threading

    env.create_pod(
        {
            "metadata": {"name": "job"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "podbot/job"}]},
        }
    )
    env.advance(2.7)
    stop = threading.Event()
    stream = env.pool.follow_logs("default", "job", None, stop=stop)
    first = [next(stream) for _ in range(2)]
    assert first == ["starting batch job: 5 items", "processing item 1/5"]
    env.advance(10)
    rest = list(stream)  # ends by itself: the container exited
    assert rest == [f"processing item {i}/5" for i in range(2, 6)] + ["done: processed 5 items, 0 errors"]


# --- adopted pods and nodes -----------------------------------------------------------------------
def test_pods_created_with_a_status_are_adopted_without_writes(env: KubeEnv) -> None:
    pod = nginx_pod("bench-0", "nginx:1.25", nodeName="node02")
    pod.update(apiVersion="v1", kind="Pod")
    pod["metadata"]["namespace"] = "default"
    pod["status"] = {
        "phase": "Running",
        "podIP": "10.244.1.200",
        "containerStatuses": [
            {
                "name": "bench-0",
                "image": "docker.io/library/nginx:1.25",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2025-03-01T08:00:00Z"}},
                "containerID": "containerd://abc",
            }
        ],
    }
    timers_before = len(env.clock._timers)
    env.store.create("pods", stamp_new(pod, env.clock))
    before = env.store.resource_version
    env.advance(0)
    assert env.store.resource_version == before
    assert len(env.clock._timers) == timers_before
    # Logs are made up from the image's behaviour and the start time in the status (08:00:00).
    assert env.pool.logs("default", "bench-0", None, tail_lines=1)[0].startswith(
        "10.244.1.1 - - [01/Mar/2025:08:59:35"
    )
    env.delete_pod("bench-0")
    env.advance(1)
    assert not env.exists("bench-0")


def test_nodes_are_registered_like_kubeadm_nodes(env: KubeEnv) -> None:
    node = env.store.get("nodes", "", "node01").load()
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.4"
    assert info["containerRuntimeVersion"].startswith("containerd://1.7.")
    assert node["spec"]["podCIDR"] == "10.244.0.0/24"
    assert node["status"]["addresses"][0] == {"address": "10.0.0.130", "type": "InternalIP"}
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
    assert (
        "node-role.kubernetes.io/control-plane"
        not in env.store.get("nodes", "", "node02").load()["metadata"]["labels"]
    )
    lease = env.store.get("leases.coordination.k8s.io", "kube-node-lease", "node01").load()
    renewed = lease["spec"]["renewTime"]
    env.advance(11)
    assert (
        env.store.get("leases.coordination.k8s.io", "kube-node-lease", "node01").load()["spec"]["renewTime"]
        > renewed
    )
    reasons = [e["reason"] for e in env.events(None) if e["involvedObject"].get("name") == "node01"]
    assert {"Starting", "NodeHasSufficientMemory", "NodeReady", "RegisteredNode"} <= set(reasons)


def test_pulled_images_are_listed_on_the_node(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("web", "nginx:1.25", nodeName="node02"))
    env.advance(5)
    images = env.store.get("nodes", "", "node02").load()["status"]["images"]
    names = [n for image in images for n in image["names"]]
    assert "docker.io/library/nginx:1.25" in names
    assert "registry.k8s.io/pause:3.10" in names


def test_follow_logs_validates_before_streaming(env: KubeEnv) -> None:
    import threading

    env.create_pod(SEED_POD)
    env.advance(1)
    with pytest.raises(SimApiError) as err:
        env.pool.follow_logs(
            "default", "nginx", None, stop=threading.Event()
        )  # raises at the call, not at next()
    assert err.value.message == 'container "nginx" in pod "nginx" is waiting to start: image can\'t be pulled'
    env.create_pod(nginx_pod("quiet", "nginx:1.16"))
    env.advance(5)
    stop = threading.Event()
    stream = env.pool.follow_logs("default", "quiet", None, stop=stop)
    stop.set()  # a client that hangs up
    assert list(stream) == []


def test_liveness_probe_failing_during_warm_up_restarts_the_container(env: KubeEnv) -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5, "periodSeconds": 5}
    env.create_pod(
        {
            "metadata": {"name": "slow"},
            "spec": {"containers": [{"name": "app", "image": "podbot/slow-start", "livenessProbe": probe}]},
        }
    )
    env.advance(60)
    ip = env.pod("slow")["status"]["podIP"]
    messages = env.messages("slow")
    assert (
        "Warning",
        "Unhealthy",
        f'Liveness probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: '
        "connection refused",
    ) in messages
    assert ("Normal", "Killing", "Container app failed liveness probe, will be restarted") in messages
    assert env.container("slow")["restartCount"] >= 1


def test_active_deadline_fails_the_pod(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "late"},
            "spec": {"activeDeadlineSeconds": 30, "containers": [{"name": "c", "image": "nginx:1.25"}]},
        }
    )
    env.advance(29)
    assert env.pod("late")["status"]["phase"] == "Running"
    env.advance(5)
    status = env.pod("late")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "DeadlineExceeded")
    assert status["message"] == "Pod was active on the node longer than the specified deadline"
    assert ("Warning", "DeadlineExceeded", status["message"]) in env.messages("late")
    env.advance(120)
    assert env.container("late")["state"]["terminated"]["reason"] == "Completed"
    assert env.pod("late")["status"]["phase"] == "Failed"


def test_changing_the_image_restarts_the_container(env: KubeEnv) -> None:
    env.create_pod(nginx_pod("web", "nginx:1.16"))
    env.advance(5)

    def set_image(pod: JSON) -> JSON:
        pod["spec"]["containers"][0]["image"] = "nginx:1.25"
        return pod

    env.store.mutate("pods", "default", "web", set_image)  # kubectl set image pod/web web=nginx:1.25
    env.advance(10)
    status = env.container("web")
    assert status["image"] == "docker.io/library/nginx:1.25" and status["restartCount"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Completed"
    assert ("Normal", "Killing", "Container web definition changed, will be restarted") in env.messages("web")


def test_a_second_delete_with_a_shorter_grace_period_kills_sooner(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "s"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
        }
    )
    env.advance(5)
    env.delete_pod("s")  # 30s grace: sleep ignores SIGTERM

    def force(pod: JSON) -> JSON:
        pod["metadata"]["deletionGracePeriodSeconds"] = 1
        return pod

    env.advance(2)
    env.store.mutate("pods", "default", "s", force)  # kubectl delete pod s --grace-period=1
    env.advance(1.5)
    assert not env.exists("s")


def test_fallback_to_logs_on_error_puts_the_log_tail_in_the_message(env: KubeEnv) -> None:
    env.create_pod(
        {
            "metadata": {"name": "t"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "c",
                        "image": "podbot/crash",
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                    }
                ],
            },
        }
    )
    env.advance(10)
    message = env.container("t")["state"]["terminated"]["message"]
    assert message.endswith("KeyError: 'DATABASE_URL'\n")
    assert "Traceback (most recent call last):" in message


def test_kubelet_admission_rejects_a_pod_bound_to_a_node_it_does_not_fit(env: KubeEnv) -> None:
    pod = {
        "metadata": {"name": "huge"},
        "spec": {
            "nodeName": "node02",
            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "8"}}}],
        },
    }
    env.create_pod(pod)
    env.advance(2)
    status = env.pod("huge")["status"]
    message = "Node didn't have enough resource: cpu, requested: 8000, used: 0, capacity: 2000"
    assert (status["phase"], status["reason"], status["message"]) == (
        "Failed",
        "OutOfcpu",
        f"Pod was rejected: {message}",
    )
    assert ("Warning", "OutOfcpu", message) in env.messages("huge")
    env.create_pod(nginx_pod("small", "nginx:1.25", nodeName="node02"))  # the rejected pod holds nothing
    env.advance(5)
    assert env.pod("small")["status"]["phase"] == "Running"
