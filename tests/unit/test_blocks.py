"""Rendering results to Block Kit: valid for slack_sdk, within Slack's limits, never silently truncated."""

import pytest

from podbot.core.model import OutputFormat
from podbot.core.records import DeleteTarget
from podbot.core.results import (
    Changed,
    HelpText,
    Logs,
    ObjectRef,
    PodTable,
    RawOutput,
    StaticPod,
    StaticPods,
)
from podbot.render.blocks import (
    align,
    render_delete_target_summary,
    render_error,
    render_internal_error,
    status_emoji,
)
from podbot.render.messages import render
from tests.support.blockkit import assert_valid_message

COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")


def table(rows: int, namespace: str | None = "default") -> PodTable:
    status = ["Running", "ImagePullBackOff", "Completed"]
    return PodTable(
        "sim", namespace, COLUMNS, tuple((f"pod-{i}", "1/1", status[i % 3], "0", "5m") for i in range(rows))
    )


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_small_table_is_a_code_block_with_kubectl_layout(locale: str) -> None:
    rendered = render(table(3), locale)
    assert_valid_message(rendered)
    assert rendered.upload is None
    body = rendered.blocks[1]["text"]["text"]
    assert body.startswith("```\nNAME    READY   STATUS") and "pod-1   1/1     ImagePullBackOff" in body
    assert ":red_circle: 1" in rendered.blocks[0]["text"]["text"]


def test_big_table_becomes_an_upload_not_a_truncated_wall() -> None:
    rendered = render(table(2000))
    assert_valid_message(rendered)
    assert rendered.upload is not None
    assert rendered.upload.content.count("\n") == 2000  # header + 2000 rows, all of them
    assert "2001 lines" in rendered.blocks[-1]["elements"][0]["text"]


def test_empty_and_missing() -> None:
    empty = render(PodTable("sim", "dev", COLUMNS, ()))
    assert_valid_message(empty)
    assert "No pods found in dev" in empty.text
    missing = render(PodTable("sim", "dev", COLUMNS, (), missing=("pod-name",)))
    assert "pods not found: pod-name" in missing.text


def test_align_matches_kubectl_tabwriter() -> None:
    text = align(("NAME", "READY"), [("a", "1/1"), ("long-name", "0/1")])
    assert text.splitlines() == ["NAME        READY", "a           1/1", "long-name   0/1"]


def test_code_blocks_escape_mrkdwn_and_fences() -> None:
    logs = Logs("sim", "default", "web", "web", False, "<b>&</b>\n```boom```\n")
    rendered = render(logs)
    assert_valid_message(rendered)
    body = rendered.blocks[1]["text"]["text"]
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in body
    assert body.count("```") == 2  # only the fences we opened and closed


def test_changed_with_notes_and_dry_run() -> None:
    change = Changed(
        "created", "sim", (ObjectRef("Pod", "default", "nginx", "u1"),), notes=("actions.bad_overrides",)
    )
    rendered = render(change)
    assert_valid_message(rendered)
    assert "pod *nginx* created in namespace default" in rendered.blocks[0]["text"]["text"]
    dry = render(Changed("created", "sim", (ObjectRef("Pod", "default", "nginx"),), dry_run=True))
    assert "nothing was changed" in dry.text


def test_raw_output_and_static_pods_and_help_and_errors() -> None:
    for result in (
        RawOutput("sim", OutputFormat.YAML, "apiVersion: v1\nkind: Pod\n"),
        StaticPods("sim", (StaticPod("kube-system", "etcd-node01", "node01", "file", "Running", "x"),)),
        StaticPods("sim", ()),
        HelpText("usage: /pod get pods\n" * 400),
    ):
        assert_valid_message(render(result))
    target = DeleteTarget(
        "sim", "Pod", "default", "web-1", "uid-1", owner_kind="ReplicaSet", owner_name="web"
    )
    summary = render_delete_target_summary(target)
    assert "web-1" in summary and "uid-1" in summary and "ReplicaSet" in summary
    assert_valid_message(render_error('pods "x" not found'))
    internal = render_internal_error("E-1234", "zh_CN")
    assert "E-1234" in internal.text and "抱歉" in internal.text


@pytest.mark.parametrize(
    ("status", "emoji"),
    [
        ("Running", ":large_green_circle:"),
        ("Init:0/1", ":hourglass_flowing_sand:"),
        ("Init:CrashLoopBackOff", ":red_circle:"),
        ("ErrImagePull", ":red_circle:"),
        ("Completed", ":white_check_mark:"),
    ],
)
def test_status_emoji(status: str, emoji: str) -> None:
    assert status_emoji(status) == emoji
