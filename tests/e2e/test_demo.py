"""`podbot demo`: the scenario format, the built-in tour in every language, and the first hour's
ordinary mistakes (issue 14): each ends in a sentence, never in a traceback."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from podbot.core import i18n
from podbot.demo.live import prompt_steps
from podbot.demo.runner import DemoRunner
from podbot.demo.script import (
    Click,
    Command,
    Expect,
    NodeFile,
    ScriptError,
    Submit,
    UseChannel,
    Wait,
    parse_duration,
    parse_script,
)
from podbot.demo.world import DemoWorld, demo_world

ROOT = Path(__file__).resolve().parents[2]
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pasted\n"
    "spec:\n  containers:\n    - name: c\n      image: nginx:1.16\n"
)


def podbot_demo(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podbot", "demo", *args],
        cwd=ROOT,
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- the scenario format (pure) --------------------------------------------------------------------


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
        "wait 1m30s\n"
        "expect Running\n"
        "expect-not Error\n"
        "channel #dev\n"
        "on node01: write /etc/kubernetes/manifests/web.yaml\n"
        "  kind: Pod\n"
        "on node01: rm /etc/kubernetes/manifests/web.yaml\n"
    )
    assert steps == [
        Command(2, None, "get pods"),
        Command(3, "bob", "approvals"),
        Command(4, None, "create\napiVersion: v1\nkind: Pod"),
        Click(8, None, "Approve", confirm=True),
        Click(9, "carol", "2"),
        Submit(10, None, (("username", "test"), ("password", "a b"))),
        Wait(11, None, 90.0),
        Expect(12, None, "Running"),
        Expect(13, None, "Error", present=False),
        UseChannel(14, None, "dev"),
        NodeFile(15, None, "node01", "web.yaml", "kind: Pod\n"),
        NodeFile(17, None, "node01", "web.yaml", None),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1m30s", 90), ("1h30m", 5400), ("2d", 172800), ("0.5m", 30)],
)
def test_compound_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("  indented\n", "line 1: indented line without a command"),
        ("wait soon\n", "line 1: not a duration"),
        ("wait 1m30\n", "line 1: not a duration: '1m30'"),
        ("dance\n", "line 1: unknown step 'dance'"),
        ("/pod get pods\nexpect\n", "line 2: expect needs the text"),
        ("submit password\n", "line 1: submit takes field=value pairs"),
        ("click\n", "line 1: click needs a button"),
        ("click 1\n  more\n", "line 1: only a /pod command or `on NODE: write` takes indented lines"),
        ("on node01: write /tmp/x.yaml\n  kind: Pod\n", "is not a file in the kubelet's staticPodPath"),
        ("on node01: write /etc/kubernetes/manifests/x.yaml\n", "write needs the manifest"),
        ("on node01: chmod /etc/kubernetes/manifests/x.yaml\n", "line 1: write `on node01: write FILE`"),
    ],
)
def test_script_errors_name_the_line(text: str, problem: str) -> None:
    with pytest.raises(ScriptError, match=problem.replace("(", r"\(").replace("`", "`")):
        parse_script(text)


def test_a_manifest_pasted_flush_left_under_a_command_belongs_to_it() -> None:
    """At the prompt a paste arrives as one block; YAML copied from a file is not indented."""
    (step,) = prompt_steps("/pod create\n" + POD)
    assert step == Command(1, None, "create\n" + POD.rstrip("\n"))
    assert prompt_steps("/pod get pods\nwait 30s\n") == [Command(1, None, "get pods"), Wait(2, None, 30.0)]
    with pytest.raises(ScriptError, match="unknown step 'apiVersion:'"):
        prompt_steps("click 1\napiVersion: v1\n")  # only a /pod command takes a body


def test_demo_help_documents_every_step() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "podbot", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    for step in (
        "/pod get pods",
        "as bob:",
        "click Approve",
        "click Approve confirm",
        "submit username=",
        "@pod.yaml",
        "wait 30s",
        "1m30s",
        "expect ",
        "expect-not ",
        "channel #dev",
        "on node01: write /etc/kubernetes/manifests/",
        "on node01: rm ",
        "--timezone",
    ):
        assert step in done.stdout, step


# --- the tour, in every language -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_the_tour_passes_in_every_language_and_shows_the_digest_the_alert_and_its_resolution(
    locale: str,
) -> None:
    done = podbot_demo("--locale", locale)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out, err = done.stdout, done.stderr
    assert "✓ every step passed" in out
    digest = out.split("⏱ 10m pass")[1].split("▶")[0]
    assert "📦" in digest and "10.0.0.130:5000/nginx:latest" in digest
    assert "/pod secret docker-registry myregistrykey --docker-server=10.0.0.130:5000" in digest  # the fix
    assert "🚨" in out.split("⏱ 30s pass")[2]  # the alert, right after the pod starts failing
    after_fix = out.split("submits the dialog")[1]
    assert "✎ podbot (app) edited its message:\n    ✅" in after_fix  # the alert, resolved in place
    assert "123456" not in after_fix  # the typed password is never echoed
    for seen in (
        "no basic auth credentials",
        "ImagePullBackOff",
        "kube-apiserver-node01",
        "static-web-node01",
    ):
        assert seen in out
    assert "Traceback" not in err and "cannot schedule new futures" not in err
    assert "Bad file descriptor" not in err


@pytest.mark.slow
def test_a_failing_expectation_fails_the_run_with_the_transcript(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("/pod get pods\nexpect this text is nowhere\n")
    done = podbot_demo("--script", str(script), timeout=120)
    assert done.returncode == 1
    assert "FAILED at line 2" in done.stdout and "/pod get pods" in done.stdout


# --- ordinary mistakes, played in one demo world -----------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    with demo_world(state_dir=tmp_path_factory.mktemp("demo"), sim_speed=0.0) as started:
        yield started


def play(world: DemoWorld, text: str) -> tuple[bool, str]:
    out = io.StringIO()
    passed = DemoRunner(world, out).run(parse_script(text), summary=False)
    return passed, out.getvalue()


@pytest.mark.slow
def test_dialogs_show_their_field_keys_and_take_fields_by_key_or_label(
    world: DemoWorld, tmp_path: Path
) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD.replace("pasted", "by-label"))
    passed, out = play(world, f'/pod create\nsubmit "Manifest (YAML or JSON)"=@{manifest}\nexpect by-label\n')
    assert passed, out  # a script may start with a dialog, and a field may be named by its label
    assert "manifest_text= Manifest (YAML or JSON)" in out and "manifest_file= " in out  # the keys
    assert "fill it in with: submit manifest_text=..." in out
    passed, out = play(world, "/pod create\nsubmit yaml=@pod.yaml\n")
    assert not passed and "Traceback" not in out
    assert "the dialog has no field 'yaml'; its fields are: manifest_text (Manifest (YAML or JSON))" in out


@pytest.mark.slow
def test_unknown_users_and_channels_get_a_clear_error(world: DemoWorld) -> None:
    passed, out = play(world, "as dave: /pod get pods\n")
    assert not passed
    assert "FAILED at line 1: there is no user @dave in the demo workspace (users: alice, bob, carol)" in out
    passed, out = play(world, "channel #nowhere\n")
    assert not passed and "there is no channel #nowhere" in out


@pytest.mark.slow
def test_a_compound_wait_moves_the_clock_by_its_whole_length(world: DemoWorld) -> None:
    before = world.runtime.now()
    passed, out = play(world, "wait 1m30s\n")
    assert passed and "⏱ 1m30s pass" in out
    assert world.runtime.now() - before >= timedelta(seconds=90)


@pytest.mark.slow
def test_a_static_pod_from_a_manifest_on_a_node(world: DemoWorld) -> None:
    passed, out = play(
        world,
        "on node01: write /etc/kubernetes/manifests/web.yaml\n"
        "  apiVersion: v1\n  kind: Pod\n  metadata:\n    name: web\n"
        "  spec:\n    containers:\n      - name: web\n        image: nginx\n"
        "wait 30s\n/pod static\nexpect web-node01\n"
        "on node01: rm /etc/kubernetes/manifests/web.yaml\nwait 30s\n/pod static\nexpect-not web-node01\n",
    )
    assert passed, out
    passed, out = play(world, "on node09: rm /etc/kubernetes/manifests/web.yaml\n")
    assert not passed and "there is no node node09 in the simulator (nodes: node01, node02)" in out


@pytest.mark.slow
def test_whatever_the_bot_posts_is_printed_replies_and_edits_included(world: DemoWorld) -> None:
    """Digests and alerts are posted by the bot's leader-only work, not in answer to a step; the
    transcript shows them, thread replies (with what they answer) and edits too."""
    client, ops = world.runtime.client, world.slack.workspace.channel("ops").id
    parent = client.chat_postMessage(channel=ops, text="🚨 something broke")
    client.chat_postMessage(channel=ops, text="still broken: 3 pods", thread_ts=parent["ts"])
    client.chat_update(channel=ops, ts=parent["ts"], text="✅ resolved: something broke")
    passed, out = play(world, "wait 1s\nexpect still broken\nexpect ✅ resolved\n")
    assert passed, out
    reply = "[#ops] ↳ podbot (app), in the thread of “✅ resolved: something broke”:\n    still broken"
    assert reply in out  # the thread's parent as it reads now
    assert "[#ops] ✎ podbot (app) edited its message:\n    ✅ resolved: something broke" in out


# --- the interactive prompt ----------------------------------------------------------------------------


@pytest.mark.slow
def test_with_a_terminal_demo_is_an_interactive_prompt_that_takes_a_pasted_manifest() -> None:
    """In a pseudo-terminal: decline the tour, type commands as two users, click a button, paste a
    multi-line manifest as it is, make mistakes, quit."""
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
        os.write(fd, ("/pod create\n" + POD).encode())  # one paste, not indented
        pasted = until(b"pod pasted created")
        assert b"unknown step" not in pasted
        os.write(fd, b"as dave: /pod get pods\n")
        until(b"there is no user @dave")
        os.write(fd, b"wait 1m30s\n")
        until(b"1m30s pass")
        os.write(fd, b"quit\n")
        until(b"bye")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert b"Traceback" not in seen
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


@pytest.mark.slow
def test_the_tour_at_the_prompt_plays_on_a_still_clock_and_passes() -> None:
    """At the prompt simulated time flows; the tour pauses it, so its checks hold there too."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "podbot", "demo", "--locale", "zh_CN"])
    seen = bytearray()
    try:
        deadline = time.monotonic() + 240
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.3)[0]:
                seen.extend(os.read(fd, 65536))
        os.write(fd, b"y\n")
        while b"alice@#ops> " not in seen.split(b"[y/N]")[-1] and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.3)[0]:
                seen.extend(os.read(fd, 65536))
        after = bytes(seen.split(b"[y/N]")[-1])
        assert "✓ every step passed".encode() in after, after.decode(errors="replace")[-2000:]
        os.write(fd, b"quit\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
