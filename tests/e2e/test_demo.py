"""`podbot demo`: the scenario format, and the built-in tour played end to end with stdin not a terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from podbot.demo.script import Click, Command, Expect, ScriptError, Submit, UseChannel, Wait, parse_script

ROOT = Path(__file__).resolve().parents[2]


def test_script_format() -> None:
    steps = parse_script(
        "# comment\n"
        "/pod get pods\n"
        "as bob: /pod approvals\n"
        "/pod create\n"
        "  apiVersion: v1\n"
        "  kind: Pod\n"
        "\n"
        "click Approve confirm\n"
        "as @carol: click 2\n"
        "submit username=test 'password=a b'\n"
        "wait 1m\n"
        "expect Running\n"
        "expect-not Error\n"
        "channel #dev\n"
    )
    assert steps == [
        Command(2, None, "get pods"),
        Command(3, "bob", "approvals"),
        Command(4, None, "create\napiVersion: v1\nkind: Pod"),
        Click(8, None, "Approve", confirm=True),
        Click(9, "carol", "2"),
        Submit(10, None, (("username", "test"), ("password", "a b"))),
        Wait(11, None, 60.0),
        Expect(12, None, "Running"),
        Expect(13, None, "Error", present=False),
        UseChannel(14, None, "dev"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("  indented\n", "line 1: indented line without a command"),
        ("wait soon\n", "line 1: not a duration"),
        ("dance\n", "line 1: unknown step 'dance'"),
        ("/pod get pods\nexpect\n", "line 2: expect needs the text"),
        ("submit password\n", "line 1: submit takes field=value pairs"),
        ("click\n", "line 1: click needs a button"),
    ],
)
def test_script_errors_name_the_line(text: str, problem: str) -> None:
    with pytest.raises(ScriptError, match=problem):
        parse_script(text)


@pytest.mark.slow
def test_demo_plays_the_whole_tour_without_a_terminal() -> None:
    """The README's first command, minus the install: stdin is not a terminal, so the tour plays."""
    done = subprocess.run(
        [sys.executable, "-m", "podbot", "demo"],
        cwd=ROOT,
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "✓ every step passed" in out
    for seen in (
        "no basic auth credentials",
        "ImagePullBackOff",
        "secret myregistrykey created",
        "kube-apiserver-node01",
        "static pod",
    ):
        assert seen in out
    assert "123456" not in out.split("submits the dialog")[1]  # the typed password is never echoed


@pytest.mark.slow
def test_a_failing_expectation_fails_the_run_with_the_transcript(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("/pod get pods\nexpect this text is nowhere\n")
    done = subprocess.run(
        [sys.executable, "-m", "podbot", "demo", "--script", str(script)],
        cwd=ROOT,
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "FAILED at line 2" in done.stdout and "/pod get pods" in done.stdout


@pytest.mark.slow
def test_with_a_terminal_demo_is_an_interactive_prompt() -> None:
    """In a pseudo-terminal: decline the tour, type commands as two users, click a button, quit."""
    import os
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: podbot demo with a terminal on stdin
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "podbot", "demo"])
    seen = bytearray()

    def until(marker: bytes, timeout: float = 60) -> bytes:
        start, deadline = len(seen), time.monotonic() + timeout
        while marker not in seen[start:] and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.3)[0]:
                seen.extend(os.read(fd, 65536))
        assert marker in seen[start:], seen[start:].decode(errors="replace")[-2000:]
        return bytes(seen[start:])

    try:
        until(b"[y/N]")
        os.write(fd, b"n\n")
        until(b"alice@#ops> ")
        os.write(fd, b"/pod get pods -A\n")
        until(b"kube-scheduler-node01")
        os.write(fd, b"as bob: /pod run web --image=nginx:1.16\n")
        until(b"created")
        os.write(fd, b"/pod delete pod web\n")
        until(b"Delete request")
        os.write(fd, b"as bob: click Approve confirm\n")
        until(b"Approved by @bob")
        os.write(fd, b"quit\n")
        until(b"bye")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
