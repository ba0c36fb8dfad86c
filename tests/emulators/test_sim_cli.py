"""``podbot sim``: starts, writes a kubeconfig kubectl can use, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from podbot import cli


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.05)


@pytest.mark.slow
def test_sim_command_serves_until_sigterm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    kubeconfig = state / "kubeconfig"
    seen: dict[str, str] = {}

    def drive() -> None:
        try:
            wait_for(kubeconfig)
            kubectl = shutil.which("kubectl")
            if kubectl is not None:
                env = {
                    "PATH": os.environ.get("PATH", ""),
                    "HOME": str(tmp_path),
                    "KUBECONFIG": str(kubeconfig),
                }
                result = subprocess.run(
                    [kubectl, "--cache-dir", str(tmp_path / "cache"), "get", "namespaces", "-o", "name"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                    check=False,
                )
                seen["kubectl"] = result.stdout + result.stderr
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive)
    driver.start()
    code = cli.main(["sim", "--port", "0", "--state-dir", str(state), "--speed", "0"])
    driver.join(timeout=30)
    out = capsys.readouterr().out
    assert code == 0
    assert f"export KUBECONFIG={kubeconfig}" in out and "kubectl get pods -A" in out
    assert "podbot sim: Kubernetes API at https://127.0.0.1:" in out and "podbot sim: stopping" in out
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    if shutil.which("kubectl"):
        assert "namespace/kube-system" in seen["kubectl"].split()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nodes", " , "], "--nodes needs at least one node name"),
        (["--speed", "-1"], "--speed must not be negative"),
    ],
)
def test_sim_command_rejects_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sim", *args]) == 2
    assert message in capsys.readouterr().err


def test_sim_command_reports_a_bad_policy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: [{subjects: [nobody], verbs: [get]}]\n")
    assert cli.main(["sim", "--rbac", str(policy), "--state-dir", str(tmp_path / "s")]) == 2
    assert "must be user:NAME, group:NAME or serviceaccount:NS:NAME" in capsys.readouterr().err


@pytest.mark.slow
def test_podbot_sim_as_a_process(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "podbot", "sim", "--port", "0", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_for(state / "kubeconfig", timeout=60)
        kubectl = shutil.which("kubectl")
        if kubectl is not None:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(tmp_path),
                "KUBECONFIG": str(state / "kubeconfig"),
            }
            out = subprocess.run(
                [kubectl, "--cache-dir", str(tmp_path / "cache"), "get", "pods", "-A"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=True,
            ).stdout
            assert out.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "podbot sim: stopping" in stdout
