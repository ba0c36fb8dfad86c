"""Digests and alert groups, pure: quiet pods, marks, new/resolved, grouping, rendering limits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from podbot.core import i18n
from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.findings import FindingKind, SchedulingCause
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.diagnosis.rules import diagnose
from podbot.core.digests import (
    Mark,
    Scope,
    alert_groups,
    compare,
    find_problems,
    health_digest,
    is_quiet,
    pull_digest,
    status_totals,
)
from podbot.core.pods.summary import PodSummary, note_from_event, remember, summarize
from podbot.render.blocks import FIX_SECRET_ACTION, MAX_BLOCKS, fits
from podbot.render.digests import (
    kind_label,
    render_alert,
    render_alert_resolved,
    render_health,
    render_pulls,
)
from tests.support.builders import NOW, ago, cstatus, event, pod, running, terminated, waiting
from tests.support.seed import SEED_PULL_ERROR

NO_CREDENTIALS = RegistryCredentialIndex.build([], namespaces=["default", "shop"])


def private_pod(name: str, namespace: str = "default", *, init: bool = False) -> PodSummary:
    """The seed's pod: a private-registry image and an imagePullSecrets entry naming a missing secret."""
    image = "10.0.0.130:5000/nginx:latest"
    state = waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
    if init:
        raw = pod(
            name,
            namespace,
            phase="Pending",
            init_containers=[{"name": "fetch", "image": image}],
            init_statuses=[cstatus("fetch", image, state)],
            statuses=[cstatus("web", "nginx:1.25", waiting("PodInitializing"))],
            pull_secrets=["myregistrykey"],
        )
        container, is_init = "fetch", True
    else:
        raw = pod(
            name,
            namespace,
            phase="Pending",
            containers=[{"name": "nginx", "image": image}],
            statuses=[cstatus("nginx", image, state)],
            pull_secrets=["myregistrykey"],
        )
        container, is_init = "nginx", False
    summary = summarize(raw, now=NOW)
    note = note_from_event(event(raw, "Failed", SEED_PULL_ERROR, container=container, init=is_init))
    assert note is not None
    return remember(summary, note)


# (case, raw pod, quiet?, does diagnosis find something 10 minutes later?)
QUIET_CASES: list[tuple[str, dict[str, Any], bool, bool]] = [
    ("running, never restarted", pod(), True, False),
    (
        "completed job",
        pod(phase="Succeeded", statuses=[cstatus("web", "nginx:1.25", terminated(0, "Completed"))]),
        True,
        False,
    ),
    # Conservative: one restart is not a finding yet, but the pod is diagnosed, not skipped.
    ("restarted once", pod(statuses=[cstatus("web", "nginx:1.25", running(), restarts=1)]), False, False),
    (
        "OOM killed before",
        pod(
            statuses=[cstatus("web", "nginx:1.25", running(), restarts=1, last=terminated(137, "OOMKilled"))]
        ),
        False,
        True,
    ),
    ("pending", pod(phase="Pending", node=None, statuses=[]), False, True),
    ("being deleted", pod(deletion=ago(hours=1)), False, True),
    ("evicted", pod(phase="Failed", reason="Evicted", message="low on memory", statuses=[]), False, True),
    (
        "crash looping",
        pod(
            statuses=[
                cstatus("web", "nginx:1.25", waiting("CrashLoopBackOff"), restarts=7, last=terminated(1))
            ]
        ),
        False,
        True,
    ),
    (
        "failed exit",
        pod(phase="Failed", restart_policy="Never", statuses=[cstatus("web", "nginx:1.25", terminated(2))]),
        False,
        True,
    ),
]


@pytest.mark.parametrize(("name", "raw", "quiet", "finds"), QUIET_CASES, ids=[c[0] for c in QUIET_CASES])
def test_quiet_pods_are_ones_diagnosis_finds_nothing_about(
    name: str, raw: dict[str, Any], quiet: bool, finds: bool
) -> None:
    summary = summarize(raw, now=NOW)
    assert is_quiet(summary) is quiet
    assert bool(diagnose(summary, [], NO_CREDENTIALS, NOW + timedelta(minutes=10))) is finds
    if quiet:  # the shortcut is only safe if diagnosis agrees at any later time too
        for later in (NOW, NOW + timedelta(hours=5), NOW + timedelta(days=3)):
            assert diagnose(summary, [], NO_CREDENTIALS, later) == []


@pytest.mark.parametrize(
    "text",
    ["abc|image_pull|default|nginx/web", "abc|image_pull|default|10.0.0.130:5000/nginx:latest", "abc|||"],
)
def test_marks_round_trip(text: str) -> None:
    assert Mark.decode(text).encode() == text


def test_a_bare_fingerprint_decodes_without_labels() -> None:
    assert Mark.decode("abc") == Mark("abc", "", "", "")


def test_compare_says_what_is_new_and_what_got_resolved() -> None:
    kept, gone, fresh = (
        Mark("k", "crash_loop", "a", "p1"),
        Mark("g", "evicted", "a", "p2"),
        Mark("n", "oom_killed", "b", "p3"),
    )
    changes = compare([kept, fresh], [kept.encode(), gone.encode()], first=False)
    assert changes.new == (fresh,)
    assert changes.resolved == (gone,)
    first = compare([kept, fresh], [], first=True)
    assert first.new == () and first.resolved == () and first.first


def test_health_digest_counts_statuses_groups_causes_and_respects_the_scope() -> None:
    pods = [summarize(pod(f"ok-{i}"), now=NOW) for i in range(5)]
    pods += [private_pod(f"pull-{i}") for i in range(3)]
    pods += [private_pod("elsewhere", "shop")]
    findings = find_problems(pods, lambda key: (), NO_CREDENTIALS, NOW)
    scope = Scope("prod", ("default",))
    digest = health_digest(status_totals(pods, scope), findings, scope=scope, now=NOW)
    assert digest.total_pods == 8
    assert dict(digest.by_status) == {"Running": 5, "ImagePullBackOff": 3}
    assert len(digest.groups) == 1
    group = digest.groups[0]
    assert (group.kind, group.cause, group.pods, group.namespaces) == (
        FindingKind.IMAGE_PULL,
        "credentials_missing",
        3,
        ("default",),
    )
    assert {f.pod for f in digest.findings} == {"pull-0", "pull-1", "pull-2"}
    assert len(digest.marks) == 3


def test_pull_digest_groups_app_and_init_containers_of_the_same_image() -> None:
    pods = [private_pod("web-1"), private_pod("web-2"), private_pod("job-1", init=True)]
    findings = find_problems(pods, lambda key: (), NO_CREDENTIALS, NOW)
    digest = pull_digest(findings, scope=Scope("prod"), now=NOW)
    assert len(digest.failures) == 1
    failure = digest.failures[0]
    assert failure.image == "10.0.0.130:5000/nginx:latest"
    assert [(p.pod, p.container, p.is_init) for p in failure.pods] == [
        ("job-1", "fetch", True),
        ("web-1", "nginx", False),
        ("web-2", "nginx", False),
    ]
    assert failure.since is not None and failure.since < NOW
    rendered = render_pulls(digest)
    text = str(rendered.blocks)
    assert "init container fetch" in text and "myregistrykey does not exist" in text
    button = next(b for b in rendered.blocks if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == FIX_SECRET_ACTION and "myregistrykey" in button["value"]


def test_the_next_pull_digest_lists_a_fixed_image_as_resolved() -> None:
    findings = find_problems([private_pod("web-1")], lambda key: (), NO_CREDENTIALS, NOW)
    first = pull_digest(findings, scope=Scope("prod"), now=NOW)
    second = pull_digest(
        [], scope=Scope("prod"), now=NOW + timedelta(hours=1), previous=first.marks, previous_at=NOW
    )
    assert [m.subject for m in second.changes.resolved] == ["10.0.0.130:5000/nginx:latest"]
    text = str(render_pulls(second).blocks)
    assert "Resolved since the previous digest" in text and "10.0.0.130:5000/nginx:latest" in text


def test_a_burst_of_500_pods_failing_the_same_way_is_one_alert_group() -> None:
    pods = [private_pod(f"web-{i}") for i in range(500)] + [private_pod("other", "shop")]
    findings = find_problems(pods, lambda key: (), NO_CREDENTIALS, NOW)
    groups = alert_groups("prod", findings, Scope("prod", ("default",)))
    assert len(groups) == 1
    group = next(iter(groups.values()))
    assert group.pods == 500
    rendered = render_alert(group)
    assert fits(rendered.blocks)
    assert "500 pods affected" in rendered.blocks[1]["elements"][0]["text"]
    assert "…and 490 more" in rendered.blocks[1]["elements"][0]["text"]


def test_group_ids_are_stable_and_distinct() -> None:
    a = find_problems([private_pod("a")], lambda key: (), NO_CREDENTIALS, NOW)
    b = find_problems([private_pod("b")], lambda key: (), NO_CREDENTIALS, NOW + timedelta(minutes=5))
    c = find_problems([private_pod("c", "shop")], lambda key: (), NO_CREDENTIALS, NOW)
    ids = [set(alert_groups("prod", f, Scope("prod"))) for f in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]
    assert all(len(next(iter(i))) <= 255 for i in ids)


def many_failures(count: int) -> list[PodSummary]:
    pods = []
    for i in range(count):
        image = f"registry.example.com/team-{i % 37}/svc-{i}:1.0"
        raw = pod(
            f"svc-{i:05d}",
            f"team-{i % 23}",
            phase="Pending",
            containers=[{"name": "app", "image": image}],
            statuses=[cstatus("app", image, waiting("ErrImagePull", f"rpc error: {image}: not found"))],
        )
        pods.append(summarize(raw, now=NOW))
    return pods


@pytest.mark.parametrize("count", [1, 40, pytest.param(3000, marks=pytest.mark.slow)])
def test_digests_of_any_size_fit_one_message_and_attach_what_is_left_out(count: int) -> None:
    pods = many_failures(count)
    findings = find_problems(pods, lambda key: (), NO_CREDENTIALS, NOW)
    previous = [Mark(f"old{i}", "crash_loop", "team-1", f"gone-{i}").encode() for i in range(count)]
    totals = status_totals(pods, Scope("prod"))
    health = health_digest(totals, findings, scope=Scope("prod"), now=NOW, previous=previous, previous_at=NOW)
    pulls = pull_digest(findings, scope=Scope("prod"), now=NOW, previous=previous, previous_at=NOW)
    for rendered, digest_size in (
        (render_health(health), len(health.findings)),
        (render_pulls(pulls), len(pulls.failures)),
    ):
        assert fits(rendered.blocks) and len(rendered.blocks) <= MAX_BLOCKS
        if count > 10:
            assert rendered.upload is not None
            assert f"svc-{count - 1:05d}" in rendered.upload.content  # the file has every pod
        else:
            assert digest_size == count


def test_alert_resolved_message_names_the_alert_and_how_long_it_lasted() -> None:
    rendered = render_alert_resolved("image pull failure in namespace default", 154)
    assert "Resolved" in rendered.text and "2m34s" in rendered.text
    assert (
        "2 分钟 34 秒" in render_alert_resolved("镜像拉取失败", 154, "zh_CN").text
    )  # units from the catalog
    assert "~image pull failure in namespace default~" in rendered.blocks[0]["text"]["text"]


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_finding_kind_and_cause_has_a_short_label(locale: str) -> None:
    keys = i18n.catalog(locale)
    for kind in FindingKind:
        assert f"digests.kind.{kind.value}" in keys, (locale, kind)
    for cause in [*PullCause, *SchedulingCause]:
        assert f"digests.cause.{cause.value}" in keys, (locale, cause)
        assert kind_label(FindingKind.IMAGE_PULL.value, cause.value, locale) != cause.value


def test_digest_times_are_shown_in_the_channels_time_zone_and_durations_in_its_language() -> None:
    findings = find_problems([private_pod("web-1")], lambda key: (), NO_CREDENTIALS, NOW)
    digest = pull_digest(findings, scope=Scope("prod"), now=NOW)
    utc = str(render_pulls(digest).blocks)
    assert f"{NOW:%Y-%m-%d %H:%M} UTC" in utc
    local = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    shanghai = str(render_pulls(digest, "zh_CN", timezone="Asia/Shanghai").blocks)
    assert f"{local:%Y-%m-%d %H:%M} UTC+8 的摘要" in shanghai and " UTC 的摘要" not in shanghai
    assert re.search(r"（\d+ (小时|分钟|秒)", shanghai)  # "failing since ... (9 分钟 14 秒)"


def test_the_attached_file_of_the_same_findings_follows_each_readers_language_and_time_zone() -> None:
    # The file's entries are made once per finding, language and zone (the watch cache hands the
    # same Finding objects to every digest): a reader in another language or zone must still get
    # their own text, and a second digest of the same findings the same text as the first.
    findings = find_problems(many_failures(12), lambda key: (), NO_CREDENTIALS, NOW)
    health = health_digest(status_totals([], Scope("prod")), findings, scope=Scope("prod"), now=NOW)

    def attached(locale: str, timezone: str) -> str:
        upload = render_health(health, locale, timezone=timezone).upload
        assert upload is not None
        return upload.content

    def first_entry(text: str) -> str:
        return next(line for line in text.splitlines() if line.startswith("[critical] team-0/svc-00000"))

    english_utc = attached("en", "UTC")
    chinese_shanghai = attached("zh_CN", "Asia/Shanghai")
    english_shanghai = attached("en", "Asia/Shanghai")
    since = findings[0].since
    assert since is not None
    shanghai_since = f"{since.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} UTC+8"
    assert first_entry(english_utc).endswith(f"since {since:%Y-%m-%d %H:%M} UTC")
    assert first_entry(english_shanghai).endswith(f"since {shanghai_since}")
    assert shanghai_since in first_entry(chinese_shanghai) and "since" not in first_entry(chinese_shanghai)
    assert attached("en", "UTC") == english_utc and attached("zh_CN", "Asia/Shanghai") == chinese_shanghai
