"""describe: kubectl-like text, and the Block Kit message with findings and the fix button."""

import json
from datetime import UTC, datetime

from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.rules import diagnose
from podbot.core.pods.describe import describe_text, event_rows
from podbot.core.pods.summary import note_from_event, remember, summarize
from podbot.core.results import PodDescription
from podbot.render.blocks import FIX_SECRET_ACTION
from podbot.render.messages import render
from tests.support.blockkit import assert_valid_message
from tests.support.builders import cstatus, event, pod, waiting
from tests.support.seed import SEED_PULL_ERROR


def seed_pod() -> dict:
    return pod(
        "nginx",
        containers=[{"name": "nginx", "image": "10.0.0.130:5000/nginx:latest"}],
        statuses=[
            cstatus(
                "nginx",
                "10.0.0.130:5000/nginx:latest",
                waiting("ImagePullBackOff", 'Back-off pulling image "10.0.0.130:5000/nginx:latest"'),
            )
        ],
        phase="Pending",
        owner=None,
        pull_secrets=["myregistrykey"],
        node="k8s-node2",
    )


def test_describe_text_has_what_kubectl_shows() -> None:
    now = datetime.now(UTC)
    raw = seed_pod()
    events = [event(raw, "Failed", SEED_PULL_ERROR, container="nginx")]
    text = describe_text(raw, event_rows(events, now), now)
    for expected in (
        "Name:             nginx",
        "Node:             k8s-node2",
        "Status:           Pending",
        "Containers:",
        "Image:          10.0.0.130:5000/nginx:latest",
        "Reason:       ImagePullBackOff",
        "Pull Secrets:     myregistrykey",
        "Events:",
        "Type     Reason  Age",
        "no basic auth credentials",
    ):
        assert expected in text, expected


def test_seed_pod_description_offers_the_secret_fix_button() -> None:
    now = datetime.now(UTC)
    raw = seed_pod()
    events = [event(raw, "Failed", SEED_PULL_ERROR, container="nginx")]
    summary = summarize(raw, now=now)
    notes = [n for n in (note_from_event(e) for e in events) if n]
    for note in notes:
        summary = remember(summary, note)
    findings = diagnose(summary, notes, RegistryCredentialIndex.build([], namespaces=["default"]), now)
    rendered = render(PodDescription("sim", raw, event_rows(events, now), tuple(findings)), "en", now=now)
    assert_valid_message(rendered)
    texts = " ".join(str(b) for b in rendered.blocks)
    assert "myregistrykey" in texts
    buttons = [e for b in rendered.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons and buttons[0]["action_id"] == FIX_SECRET_ACTION
    assert json.loads(buttons[0]["value"]) == {
        "name": "myregistrykey",
        "server": "10.0.0.130:5000",
        "namespace": "default",
        "context": "sim",
    }
    zh = render(PodDescription("sim", raw, event_rows(events, now), tuple(findings)), "zh_CN", now=now)
    assert_valid_message(zh)
    assert "创建镜像拉取密钥 myregistrykey" in str(zh.blocks)


def test_healthy_pod_says_so() -> None:
    now = datetime.now(UTC)
    rendered = render(PodDescription("sim", pod("web"), (), ()), "en", now=now)
    assert_valid_message(rendered)
    assert "found nothing wrong" in str(rendered.blocks)
