"""Image behaviours and the shell look-alike: what a container does given its image and command."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.sim.behaviours.catalog import BEHAVIOURS, RunContext, default_env, plan
from podbot.sim.behaviours.run import Run, render
from podbot.sim.behaviours.shell import run_script

START = 1_740_819_600.0  # 2025-03-01T09:00:00Z


def _ctx(**overrides: Any) -> RunContext:
    base: dict[str, Any] = {
        "pod_name": "p",
        "namespace": "default",
        "container_name": "c",
        "pod_ip": "10.244.1.5",
        "host_ip": "10.0.0.131",
        "gateway": "10.244.1.1",
        "node_name": "node02",
        "env": default_env("p"),
        "command": None,
        "args": None,
    }
    base.update(overrides)
    return RunContext(**base)


def _texts(run: Run, until: float) -> list[str]:
    return [render(e.text, START + e.offset) for e in run.lines(until)]


@pytest.mark.parametrize(
    ("script", "exit_code", "ends_after", "lines"),
    [
        ("echo hi; sleep 2; echo bye", 0, 2.0, ["hi", "bye"]),
        ("for i in 1 2 3; do echo $i; done; exit 3", 3, 0.0, ["1", "2", "3"]),
        ("echo start && false || echo recovered", 0, 0.0, ["start", "recovered"]),
        ("foo --bar", 127, 0.0, ["sh: foo: not found"]),
        ("if [ -f /nope ]; then echo yes; else echo no; fi", 0, 0.0, ["no"]),
        ("echo $HOSTNAME ${MISSING:-dflt} $((6*7))", 0, 0.0, ["p dflt 42"]),
        ("X=5; export Y=6; echo $X$Y", 0, 0.0, ["56"]),
        ("echo 'single $HOME' \"double $HOME\"", 0, 0.0, ["single $HOME double /root"]),
        ("printf 'a=%s b=%d\\n' x 7", 0, 0.0, ["a=x b=7"]),
        ("cat /var/run/secrets/kubernetes.io/serviceaccount/namespace", 0, 0.0, ["default"]),
        ("wget -qO- http://web.default.svc:8080/healthz", 1, 0.0, ["wget: bad address 'web.default.svc'"]),
        ('echo "unterminated', 2, 0.0, ["sh: syntax error: unterminated quoted string"]),
        ("exit", 0, 0.0, []),
        ("echo to stderr >&2; exit 4", 4, 0.0, ["to stderr"]),
    ],
)
def test_finite_scripts(script: str, exit_code: int, ends_after: float, lines: list[str]) -> None:
    run = run_script(script, default_env("p"))
    assert run.exit_after is not None
    assert run.exit_code == exit_code
    assert run.reason == ("Completed" if exit_code == 0 else "Error")
    assert run.exit_after == pytest.approx(max(ends_after, 0.01), abs=0.02)
    assert _texts(run, 100) == lines


def test_loops_repeat_for_ever_with_their_period() -> None:
    run = run_script('while true; do echo "tick $(date +%H:%M:%S)"; sleep 5; done', {})
    assert run.exit_after is None and run.loop is not None
    assert run.loop.period == pytest.approx(5.0, abs=0.01)
    assert _texts(run, 11) == ["tick 09:00:00", "tick 09:00:05", "tick 09:00:10"]


def test_classic_wait_for_service_init_container_never_finishes() -> None:
    script = (
        "until nslookup myservice.$(cat "
        "/var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; "
        "do echo waiting for myservice; sleep 2; done"
    )
    run = run_script(script, {}, namespace="shop")
    assert run.exit_after is None
    assert _texts(run, 3) == [
        "nslookup: can't resolve 'myservice.shop.svc.cluster.local'",
        "waiting for myservice",
        "nslookup: can't resolve 'myservice.shop.svc.cluster.local'",
        "waiting for myservice",
    ]


def test_sleep_infinity_and_tail_run_for_ever_without_output() -> None:
    for script in ("sleep infinity", "tail -f /dev/null", "echo ready; sleep infinity"):
        run = run_script(script, {})
        assert run.exit_after is None
    assert _texts(run_script("echo ready; sleep infinity", {}), 1000) == ["ready"]


def test_sigterm_handling_depends_on_trap() -> None:
    assert run_script("sleep 3600", {}).handles_sigterm is False
    assert run_script("trap 'exit 0' TERM; while :; do sleep 1; done", {}).handles_sigterm is True


def test_bash_wording_for_unknown_commands() -> None:
    run = run_script("nosuch", {}, shell="bash")
    assert _texts(run, 1) == ["bash: line 1: nosuch: command not found"]


@pytest.mark.parametrize(
    ("behaviour", "command", "args", "expect_exit", "expect_reason"),
    [
        ("shell", None, None, 0.05, "Completed"),  # busybox with no command: sh exits at once
        ("shell", None, ["echo", "hi"], 0.01, "Completed"),  # kubectl run bb --image=busybox -- echo hi
        ("shell", ["sh", "-c", "exit 1"], None, 0.01, "Error"),
        ("shell", ["sleep", "3600"], None, 3600.0, "Completed"),
        ("nginx", None, None, None, None),
        ("nginx", ["nginx", "-g", "daemon off;"], None, None, None),
        ("nginx", ["sh", "-c", "echo custom; exit 0"], None, 0.01, "Completed"),
        ("job", None, None, 5.6, "Completed"),
        ("crash", None, None, 3.01, "Error"),
        ("oom", None, None, 8.0, "OOMKilled"),
        ("postgres", None, None, 0.06, "Error"),
        ("mysql", None, None, 0.2, "Error"),
        ("redis", None, None, None, None),
    ],
)
def test_behaviour_plans(
    behaviour: str,
    command: list[str] | None,
    args: list[str] | None,
    expect_exit: float | None,
    expect_reason: str | None,
) -> None:
    run = plan(BEHAVIOURS[behaviour], _ctx(command=command, args=args))
    assert run.start_error is None
    if expect_exit is None:
        assert run.exit_after is None
    else:
        assert run.exit_after == pytest.approx(expect_exit, abs=0.02)
        assert run.reason == expect_reason


def test_unknown_program_fails_to_start_with_the_runc_message() -> None:
    run = plan(BEHAVIOURS["nginx"], _ctx(command=["derekisbad"]))
    assert run.start_error == (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
        "create "
        'failed: unable to start container process: exec: "derekisbad": executable file not found in '
        "$PATH: unknown"
    )
    assert plan(BEHAVIOURS["etcd"], _ctx(command=["sh", "-c", "echo hi"])).start_error is not None  # no shell


def test_nginx_logs_depend_on_version() -> None:
    new = plan(BEHAVIOURS["nginx"], _ctx(params={"version": "1.25.5"}))
    texts = _texts(new, 31)
    assert (
        texts[0]
        == "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
    )
    assert "2025/03/01 09:00:00 [notice] 1#1: nginx/1.25.5" in texts
    access = [t for t in texts if t.startswith("10.244.1.1 - - ")]
    assert access == [
        '10.244.1.1 - - [01/Mar/2025:09:00:05 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"'
    ]
    old = plan(BEHAVIOURS["nginx"], _ctx(params={"version": "1.16.1"}))
    assert _texts(old, 4.9) == []  # the 1.16 image prints nothing until a request arrives
    assert _texts(old, 6) == [
        '10.244.1.1 - - [01/Mar/2025:09:00:05 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0" "-"'
    ]
    assert "signal 3 (SIGQUIT) received, shutting down" in new.stop_lines[0]


def test_postgres_and_crash_are_fixed_by_their_environment() -> None:
    broken = plan(BEHAVIOURS["postgres"], _ctx())
    assert _texts(broken, 1)[0] == "Error: Database is uninitialized and superuser password is not specified."
    fixed = plan(BEHAVIOURS["postgres"], _ctx(env={"POSTGRES_PASSWORD": "pw"}))
    assert fixed.exit_after is None and fixed.ready_after == 3.0
    crash = plan(BEHAVIOURS["crash"], _ctx())
    assert _texts(crash, 10)[-1] == "KeyError: 'DATABASE_URL'"
    healthy = plan(BEHAVIOURS["crash"], _ctx(env={"DATABASE_URL": "postgres://db"}))
    assert healthy.exit_after is None


def test_oom_follows_the_memory_limit() -> None:
    small = plan(BEHAVIOURS["oom"], _ctx(memory_limit=128 * 1024 * 1024))
    assert (small.exit_after, small.exit_code, small.reason) == (2.0, 137, "OOMKilled")
    assert _texts(small, 5) == ["allocating memory in 64MiB chunks", "allocated 64MiB"]
