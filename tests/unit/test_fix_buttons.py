"""One button per fix, and the requests behind the buttons and the login dialog."""

from __future__ import annotations

import json

import pytest

from podbot.core.diagnosis.findings import Fix, FixKind
from podbot.core.model import AttachPullSecret, DryRun, ReplaceRegistryLogin, Secret, Where
from podbot.render import views
from podbot.render.blocks import FIX_ATTACH_ACTION, FIX_LOGIN_ACTION, FIX_SECRET_ACTION, Rendered, fix_button
from tests.support.blockkit import assert_valid_message


@pytest.mark.parametrize(
    ("fix", "action", "label", "value"),
    [
        (
            Fix(
                FixKind.CREATE_REGISTRY_SECRET,
                namespace="default",
                secret_name="myregistrykey",
                server="10.0.0.130:5000",
            ),
            FIX_SECRET_ACTION,
            "Create secret myregistrykey",
            {"name": "myregistrykey", "server": "10.0.0.130:5000", "namespace": "default", "context": "sim"},
        ),
        (
            Fix(
                FixKind.REPLACE_REGISTRY_LOGIN,
                namespace="default",
                secret_name="regkey",
                server="10.0.0.130:5000",
            ),
            FIX_LOGIN_ACTION,
            "Replace the login in regkey",
            {"name": "regkey", "server": "10.0.0.130:5000", "namespace": "default", "context": "sim"},
        ),
        (
            Fix(
                FixKind.ATTACH_PULL_SECRET, namespace="team", secret_name="regcred", service_account="builder"
            ),
            FIX_ATTACH_ACTION,
            "Attach regcred to builder",
            {"name": "regcred", "service_account": "builder", "namespace": "team", "context": "sim"},
        ),
    ],
    ids=["create", "replace-login", "attach"],
)
def test_each_fix_has_its_one_button(fix: Fix, action: str, label: str, value: dict[str, str]) -> None:
    button = fix_button(fix, "sim", "en")
    assert button is not None
    assert (button["action_id"], button["text"]["text"]) == (action, label)
    assert json.loads(button["value"]) == value
    assert_valid_message(Rendered(text=label, blocks=[{"type": "actions", "elements": [button]}]))
    zh = fix_button(fix, "sim", "zh_CN")
    assert zh is not None and zh["text"]["text"] != label


def test_fixes_without_an_action_have_no_button() -> None:
    for kind in (FixKind.WAIT_FOR_PULL_RETRY, FixKind.RECREATE_FOR_PULL_SECRET, FixKind.CHECK_IMAGE_NAME):
        assert fix_button(Fix(kind, namespace="default", secret_name="x"), "sim", "en") is None


def test_attach_button_asks_before_it_changes_anything() -> None:
    fix = Fix(FixKind.ATTACH_PULL_SECRET, namespace="team", secret_name="regcred", service_account="builder")
    button = fix_button(fix, "sim", "en")
    assert button is not None
    assert "service account builder in namespace team (cluster sim)" in button["confirm"]["text"]["text"]
    request = views.attach_request(button["value"])
    assert request == AttachPullSecret("regcred", "builder", Where(context="sim", namespace="team"))


def test_login_dialog_carries_the_secret_and_registry_and_never_a_password() -> None:
    origin = views.DialogState(
        "C1", "U1", context="sim", namespace="default", secret="regkey", server="10.0.0.130:5000"
    )
    modal = views.login_modal(origin, "en", username="test")
    assert modal["callback_id"] == views.LOGIN_CALLBACK
    assert views.DialogState.from_metadata(modal["private_metadata"]) == origin
    password = next(b for b in modal["blocks"] if b.get("block_id") == "password")
    assert "initial_value" not in password["element"]
    submitted = {
        "private_metadata": modal["private_metadata"],
        "state": {
            "values": {
                "username": {"username": {"value": " test "}},
                "password": {"password": {"value": "123456"}},
                "email": {"email": {"value": ""}},
            }
        },
    }
    request = views.login_request(*views.read_login(submitted))
    assert request == ReplaceRegistryLogin(
        name="regkey",
        server="10.0.0.130:5000",
        username="test",
        password=Secret("123456"),
        where=Where(context="sim", namespace="default"),
        dry_run=DryRun.NONE,
    )
    assert "123456" not in repr(request)
    # the create dialog's metadata is unchanged by the new fields
    plain = views.DialogState("C1", "U1")
    assert json.loads(plain.to_metadata()) == {"c": "C1", "u": "U1", "x": None, "n": None, "d": False}
