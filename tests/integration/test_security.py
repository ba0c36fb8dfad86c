"""Security scenarios, one per finding of the security issue, each judged as the channel sees it:
the real bolt app, podbot.sim and podbot.localslack on loopback. A bystander is carol, a member
of every channel who asked for nothing."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from podbot.app import safety
from podbot.core.errors import ConfigError
from podbot.core.model import DigestKind
from podbot.core.records import Schedule
from podbot.localslack import Workspace, payloads
from podbot.localslack.delivery import sign
from podbot.server.config import load_settings
from podbot.slack.directory import Directory
from podbot.slack.web_client import make_web_client
from tests.support.approvals import approval_of, click, counting_deletes, pod_exists, private_answers
from tests.support.harness import Harness, podbot_harness
from tests.support.seed import SEED_POD

PASSWORD = "123456-seed-password"  # the seed's line, with a password long enough not to match by chance
SEED_SECRET = (
    "kubectl create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 "
    f"--docker-username=test --docker-password={PASSWORD}"
)
CONFIG = """
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: ["{sre}"]
channels:
  - channel: "#dev"               # keyed by name: the dialog path must find it by the channel's ID
    namespaces: ["dev-*"]
    contexts: [podbot-sim]
    default_namespace: dev-1
  - channel: "#ops"
    default_namespace: default
    on_violation: approve
"""
PRIVILEGED_POD = """create
apiVersion: v1
kind: Pod
metadata:
  name: rooted
  namespace: kube-system
spec:
  hostPID: true
  hostNetwork: true
  containers:
    - name: shell
      image: busybox
      securityContext:
        privileged: true
  volumes:
    - name: host
      hostPath:
        path: /
"""


def secret_exists(h: Harness, name: str) -> bool:
    return bool(h.sim.store.list("secrets", "default", lambda s: s.name == name)[0])


def bystander(h: Harness, channel: str) -> str:
    """Everything carol sees in the channel (the commands Slack shows with in_channel answers too)."""
    return h.slack.transcript(channel, user="carol")


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    ws = Workspace.demo()
    ws.join("dev", "alice")
    ws.join("dev", "carol")
    ws.add_channel("random", members=["alice", "carol"])  # a channel the configuration does not name
    with podbot_harness(tmp_path_factory.mktemp("security"), config=CONFIG, workspace=ws) as made:
        yield made


# --- 1. secrets never in a channel ------------------------------------------------------------------
def test_a_password_typed_on_the_command_line_is_not_used_and_never_shown(h: Harness) -> None:
    answer = h.command(SEED_SECRET)
    assert answer.is_ephemeral and "did not use the password you typed" in answer.rendered
    view = h.slack.wait_for_view("alice")
    prefilled = json.dumps(view.blocks)
    assert "myregistrykey" in prefilled and "10.0.0.130:5000" in prefilled and '"test"' in prefilled
    assert PASSWORD not in prefilled
    assert not secret_exists(h, "myregistrykey")  # the typed password is not used
    assert h.slack.submit_view("alice", values={"password": "from-the-dialog"}).closed
    h.runtime.pool.wait_idle(10)
    assert secret_exists(h, "myregistrykey")
    seen = bystander(h, "ops")
    assert PASSWORD not in seen and "docker-password" not in seen
    assert "myregistrykey created" in seen  # the create itself is news for the channel


def test_a_pasted_secret_manifest_is_answered_privately(h: Harness) -> None:
    encoded = base64.b64encode(b'{"auths":{"r.example":{"auth":"dXNlcjpzM2NyZXQtcGFzdGVk"}}}').decode()
    manifest = (
        "create\napiVersion: v1\nkind: Secret\nmetadata:\n  name: pasted\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
    )
    answer = h.command(manifest)
    assert "created" in answer.rendered and answer.is_ephemeral
    assert encoded not in bystander(h, "ops") and "pasted" not in bystander(h, "ops")


# --- 2. dialogs are checked when they open and when they are submitted ------------------------------
def test_a_dialog_for_a_namespace_the_channel_may_not_use_does_not_open(h: Harness) -> None:
    opened = len(h.slack.api_calls("views.open"))
    refused = h.command("create -n default", channel="dev")
    assert "namespace default" in refused.rendered and "dev-*" in refused.rendered
    secret = h.command(
        "secret docker-registry k --docker-server=r.example --docker-username=u -n default", channel="dev"
    )
    assert "namespace default" in secret.rendered
    other_cluster = h.command("create --context elsewhere", channel="dev")
    assert "elsewhere" in other_cluster.rendered
    assert len(h.slack.api_calls("views.open")) == opened  # no dialog was shown


def test_a_submitted_manifest_is_checked_where_it_lands(h: Harness) -> None:
    assert h.slack.send_command("alice", "dev", "/pod", "create").ok  # allowed: the dialog opens for dev-1
    h.slack.wait_for_view("alice")
    manifest = SEED_POD.replace("name: nginx", "name: sneaky\n  namespace: default", 1)
    mark = h.slack.mark()
    assert h.slack.submit_view("alice", values={"manifest_text": manifest}).closed
    h.runtime.pool.wait_idle(10)
    answers = private_answers(h, "alice", mark, channel="dev")
    assert any("namespace default" in a for a in answers), answers
    assert pod_exists(h.sim, "sneaky") is None


# --- 4. creates are gated ------------------------------------------------------------------------------
def test_a_privileged_host_pod_in_kube_system_waits_for_an_approver(h: Harness) -> None:
    mark = h.slack.mark()
    answer = h.command(PRIVILEGED_POD)
    assert "Create request #" in answer.rendered, answer.rendered
    card = h.slack.wait_for_message(channel="ops", contains="Create request #", after=mark)
    for rule in ("privileged container", "host namespaces", "hostPath volume", "reserved for the cluster"):
        assert rule in card.rendered, card.rendered
    assert pod_exists(h.sim, "rooted", "kube-system") is None
    click(h, "carol", card, "Approve")  # not an approver
    assert pod_exists(h.sim, "rooted", "kube-system") is None
    click(h, "bob", card, "Approve")
    assert pod_exists(h.sim, "rooted", "kube-system") is not None
    assert approval_of(h, card).outcome == "created"


def test_a_channel_without_a_policy_is_read_only(h: Harness) -> None:
    refused = h.command("run web --image=nginx:1.16", channel="random")
    assert "may not use `run`" in refused.rendered
    assert "kube-apiserver" in h.command("get pods -n kube-system", channel="random").rendered  # reads work
    assert pod_exists(h.sim, "web") is None


def test_a_create_the_level_refuses_says_which_rule(tmp_path: Path) -> None:
    config = 'channels:\n  - {channel: "*", pod_security: restricted}\n'
    with podbot_harness(tmp_path, config=config) as made:
        preview = made.command("run web --image=nginx:1.16 --dry-run=server")
        assert "Pod Security level (restricted)" in preview.rendered
        assert "privilege escalation not disabled" in preview.rendered
        refused = made.command("run web --image=nginx:1.16")
        assert "breaks the channel's Pod Security level (restricted)" in refused.rendered
        assert pod_exists(made.sim, "web") is None


def test_serve_refuses_deletes_that_no_approver_could_approve(tmp_path: Path) -> None:
    ws = Workspace.demo()
    from podbot.localslack import LocalSlack

    with LocalSlack(ws) as slack:
        client = make_web_client(slack.bot_token, slack.api_url)
        config = tmp_path / "podbot.yaml"
        config.write_text('approvals:\n  approvers: []\nchannels:\n  - channel: "#ops"\n')
        with pytest.raises(ConfigError, match="names nobody for it"):
            safety.check(load_settings({}, str(config)), Directory(client))
        config.write_text(
            'approvals:\n  approvers:\n    - usergroups: [S0NOSUCH]\nchannels:\n  - channel: "#ops"\n'
        )
        with pytest.raises(ConfigError, match="could be found in Slack"):
            safety.check(load_settings({}, str(config)), Directory(client))
        config.write_text(
            f"approvals:\n  approvers:\n    - usergroups: [{ws.usergroup('sre').id}]\n"
            'channels:\n  - channel: "#ops"\n'
        )
        warnings = safety.check(load_settings({}, str(config)), Directory(client))
        assert any("per-user identity is off" in w for w in warnings)


# --- 5. request handling ---------------------------------------------------------------------------------
def _post(h: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    assert h.runtime.web is not None
    parts = urlsplit(h.runtime.web.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _command_body(h: Harness, text: str, *, trigger_id: str) -> str:
    """A slash command alice types in #ops, as Slack's form body (its response_url leads nowhere)."""
    ws = h.slack.workspace
    return payloads.form_body(
        payloads.slash_command(
            token=ws.verification_token,
            team=ws.team,
            channel=ws.channel("ops"),
            user=ws.user("alice"),
            command="/pod",
            text=text,
            app_id=ws.app_id,
            response_url=f"{h.slack.url}/nowhere",
            trigger_id=trigger_id,
        )
    )


def _signed(h: Harness, body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(h.slack.signing_secret, timestamp, body),
    }


def test_an_oversized_body_is_refused_before_it_is_read(h: Harness) -> None:
    # Only the headers go out: the answer must come from Content-Length alone. (Sending the 2 MiB
    # too races with the server closing the connection: the client may get a broken pipe first.)
    assert h.runtime.web is not None
    parts = urlsplit(h.runtime.web.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_malformed_requests_get_a_4xx_and_one_log_line_never_a_traceback(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert _post(h, b"a=b", {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=x"})[0] == 401
    assert _post(h, b"\xff\xfe garbage", {})[0] == 401
    signed = _signed(h, "payload=%7Bnot-json")
    assert _post(h, b"payload=%7Bnot-json", signed)[0] == 400
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    refusals = [r for r in caplog.records if "refused a request to /slack/events" in r.getMessage()]
    assert len(refusals) == 3


def test_a_replayed_request_is_refused(h: Harness) -> None:
    body = _command_body(h, "help", trigger_id="replay.1")
    headers = _signed(h, body)
    assert _post(h, body.encode(), headers)[0] == 200
    assert _post(h, body.encode(), headers)[0] == 401


def _forged_click(h: Harness, card_ts: str, *, user: str, channel: str, extra: dict[str, str]) -> None:
    ws = h.slack.workspace
    card = next(m for m in h.slack.messages("ops") if m.ts == card_ts)
    payload = payloads.block_actions(
        token=ws.verification_token,
        team=ws.team,
        user=ws.user(user),
        app_id=ws.app_id,
        trigger_id=f"forged.{card_ts}",
        action=payloads.button_action(card.button("Approve"), ws.history.next_ts()),
        container={"type": "message", "message_ts": card_ts, "channel_id": ws.channel(channel).id},
        channel=ws.channel(channel),
        message=card.json,
    )
    payload.update(extra)
    assert h.slack.send_raw(payloads.interaction_body(payload)).ok
    h.runtime.pool.wait_idle(10)


def test_a_click_counts_only_as_its_user_and_on_its_own_message(h: Harness) -> None:
    h.command("run victim --image=nginx:1.16")
    mark = h.slack.mark()
    assert h.slack.send_command("alice", "ops", "/pod", "delete pod victim").ok
    h.runtime.pool.wait_idle(10)
    card = h.slack.wait_for_message(channel="ops", contains="Delete request #", after=mark)
    with counting_deletes(h.sim) as deletes:
        # carol clicks, with a top-level user_id naming bob (an approver): she is still carol.
        _forged_click(
            h, card.ts, user="carol", channel="ops", extra={"user_id": h.slack.workspace.user("bob").id}
        )
        # bob's click, but on a copy of the buttons in another channel.
        _forged_click(h, card.ts, user="bob", channel="dev", extra={})
    assert deletes == []
    assert pod_exists(h.sim, "victim") is not None
    assert approval_of(h, card).state.value == "pending"


# --- 6. replies fit Slack's limits ---------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "note"), [("en", "attached as error.txt"), ("zh_CN", "附件 error.txt")])
def test_a_very_long_error_fits_a_message_and_the_rest_is_a_file(
    tmp_path: Path, locale: str, note: str
) -> None:
    containers = "".join(f"    - name: Bad_Name_{i:03}_{'x' * 40}\n      image: nginx\n" for i in range(120))
    manifest = (
        f"create\napiVersion: v1\nkind: Pod\nmetadata:\n  name: many\nspec:\n  containers:\n{containers}"
    )
    with podbot_harness(tmp_path, config=f'locale: {locale}\nchannels:\n  - channel: "*"\n') as made:
        answer = made.command(manifest)
        # On main this answer was five 3,000-character sections: Slack refused it (msg_blocks_too_long).
        assert answer.is_ephemeral and "Bad_Name_000" in answer.rendered and note in answer.rendered
        assert len(made.slack.api_calls("files.completeUploadExternal")) == 1


# --- 3. digests and alerts show only what their subscriber may list ---------------------------------------
VIEWER_POLICY = """
rules:
  # system:basic-user, bound to every authenticated user in every real cluster
  - subjects: [group:system:authenticated]
    verbs: [create]
    apiGroups: [authorization.k8s.io]
    resources: [selfsubjectaccessreviews]
  - subjects: [user:alice@example.com]
    verbs: [get, list, watch]
    apiGroups: [""]
    resources: [pods]
    namespaces: [default]
"""


def test_digests_and_alerts_follow_the_subscribers_own_rights(tmp_path: Path) -> None:
    policy = tmp_path / "rbac.yaml"
    policy.write_text(VIEWER_POLICY)
    config = 'channels:\n  - channel: "*"\nidentity:\n  enabled: true\n'
    with podbot_harness(tmp_path, config=config, speed=0, rbac_policy=policy) as made:
        for text in ("subscribe health -n kube-system", "alerts on -n kube-system", "subscribe health"):
            refused = made.command(text)
            assert "may not list pods" in refused.rendered, (text, refused.rendered)
        assert made.runtime.store.subscriptions.active() == []
        assert "pod-health digest #" in made.command("subscribe health -n default --every 1h").rendered
        # A subscription alice made while she could read kube-system (rights taken away since):
        # it is checked again before every digest, and nothing from kube-system is posted.
        ops = made.slack.workspace.channel("ops").id
        stale = made.runtime.store.subscriptions.create(
            team_id=made.slack.workspace.team.id,
            channel_id=ops,
            kind=DigestKind.HEALTH,
            schedule=Schedule(every_seconds=3600),
            namespaces=("kube-system",),
            context="podbot-sim",
            created_by=made.slack.workspace.user("alice").id,
            now=made.sim.clock.now(),
        )
        mark = made.slack.mark()
        assert made.runtime.digests.run_digest(stale.id, made.sim.clock.now()) is None
        assert not [m for m in made.slack.messages_since(mark) if "kube-system" in m.rendered]


def test_only_the_ack_front_may_say_a_request_was_acknowledged(h: Harness) -> None:
    """Without a front, an X-Podbot-Acked header on a request is dropped: the usage error comes in
    the ack, as it would without the header (behind the front it would go by the response_url)."""
    body = _command_body(h, "frobnicate", trigger_id="spoof.1")
    status, ack = _post(h, body.encode(), {**_signed(h, body), "X-Podbot-Acked": "1"})
    assert status == 200 and "is not a podbot command" in ack, ack
