"""Pure: the modals podbot opens, and reading their submissions back.

Three modals: paste a manifest for ``create`` (a multi-line input, or a file for bigger manifests),
the registry-secret form, and the "replace the login" form for an existing registry secret. Their
password field never touches a channel, a log or ``private_metadata`` (which carries only where
to post, which cluster/namespace and, for the login form, which secret and registry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from podbot.core.i18n import t
from podbot.core.model import (
    AttachPullSecret,
    CreateRegistrySecret,
    DryRun,
    ReplaceRegistryLogin,
    Secret,
    Where,
)

CREATE_CALLBACK = "podbot_create"
SECRET_CALLBACK = "podbot_secret"  # noqa: S105 - a callback id, not a secret
LOGIN_CALLBACK = "podbot_login"
MANIFEST_BLOCK, MANIFEST_ACTION = "manifest", "manifest_text"
FILE_BLOCK, FILE_ACTION = "manifest_file", "manifest_file"
MAX_INPUT = 3000  # plain_text_input max_length: bigger manifests come as a file

View = dict[str, Any]


@dataclass(frozen=True)
class DialogState:
    """Where the modal was opened from: the answer goes back to this channel and user."""

    channel_id: str
    user_id: str
    context: str | None = None
    namespace: str | None = None
    dry_run: bool = False
    secret: str = ""  # the login form: which registry secret ...
    server: str = ""  # ... and which registry's login in it

    def to_metadata(self) -> str:
        raw: dict[str, Any] = {
            "c": self.channel_id,
            "u": self.user_id,
            "x": self.context,
            "n": self.namespace,
            "d": self.dry_run,
        }
        if self.secret:
            raw.update(s=self.secret, r=self.server)
        return json.dumps(raw, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, text: str) -> DialogState:
        raw = json.loads(text or "{}")
        return cls(
            channel_id=str(raw.get("c", "")),
            user_id=str(raw.get("u", "")),
            context=raw.get("x"),
            namespace=raw.get("n"),
            dry_run=bool(raw.get("d")),
            secret=str(raw.get("s") or ""),
            server=str(raw.get("r") or ""),
        )


def _title(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:24]}


def _input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    initial: str = "",
    multiline: bool = False,
    optional: bool = False,
    placeholder: str = "",
    hint: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": MAX_INPUT,
    }
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder[:150]}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "element": element,
        "label": {"type": "plain_text", "text": label[:2000]},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:2000]}
    return block


def create_modal(state: DialogState, locale: str | None) -> View:
    """Paste a Pod / registry Secret manifest (or attach it as a file)."""
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK,
        "title": _title(t("views.create_title", locale)),
        "submit": _title(t("views.create_submit", locale)),
        "close": _title(t("views.cancel", locale)),
        "private_metadata": state.to_metadata(),
        "blocks": [
            _input(
                MANIFEST_BLOCK,
                MANIFEST_ACTION,
                t("views.manifest_label", locale),
                multiline=True,
                optional=True,
                placeholder="apiVersion: v1\nkind: Pod\n...",
                hint=t("views.manifest_hint", locale),
            ),
            {
                "type": "input",
                "block_id": FILE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": t("views.file_label", locale)},
                "element": {
                    "type": "file_input",
                    "action_id": FILE_ACTION,
                    "filetypes": ["yaml", "yml", "json", "txt"],
                    "max_files": 1,
                },
            },
        ],
    }


@dataclass(frozen=True)
class CreateSubmission:
    state: DialogState
    text: str  # pasted manifest, "" when a file was attached instead
    file_urls: tuple[str, ...]  # url_private of attached files (downloaded with the bot token)


def read_create(view: View) -> CreateSubmission:
    values = (view.get("state") or {}).get("values") or {}
    text = ((values.get(MANIFEST_BLOCK) or {}).get(MANIFEST_ACTION) or {}).get("value") or ""
    files = ((values.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}).get("files") or []
    urls = tuple(str(f.get("url_private_download") or f.get("url_private") or "") for f in files)
    return CreateSubmission(
        DialogState.from_metadata(view.get("private_metadata", "")), text, tuple(u for u in urls if u)
    )


SECRET_FIELDS = ("name", "server", "username", "password", "email")


def secret_modal(
    state: DialogState,
    locale: str | None,
    *,
    name: str = "",
    server: str = "",
    username: str = "",
    email: str = "",
) -> View:
    """The docker-registry secret form; the password is typed here and nowhere else."""
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": t("views.secret_intro", locale, namespace=state.namespace or "default"),
            },
        },
        _input("name", "name", t("views.secret_name", locale), initial=name),
        _input(
            "server",
            "server",
            t("views.secret_server", locale),
            initial=server,
            placeholder="10.0.0.130:5000",
        ),
        _input("username", "username", t("views.secret_username", locale), initial=username),
        _input(
            "password",
            "password",
            t("views.secret_password", locale),
            hint=t("views.secret_password_hint", locale),
        ),
        _input("email", "email", t("views.secret_email", locale), initial=email, optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": SECRET_CALLBACK,
        "title": _title(t("views.secret_title", locale)),
        "submit": _title(t("views.secret_submit", locale)),
        "close": _title(t("views.cancel", locale)),
        "private_metadata": state.to_metadata(),
        "blocks": blocks,
    }


def read_secret(view: View) -> tuple[DialogState, dict[str, str]]:
    """The submitted secret fields (strings, possibly empty) and where the modal came from."""
    values = (view.get("state") or {}).get("values") or {}
    fields = {
        key: str(((values.get(key) or {}).get(key) or {}).get("value") or "").strip() for key in SECRET_FIELDS
    }
    return DialogState.from_metadata(view.get("private_metadata", "")), fields


def secret_request(state: DialogState, fields: dict[str, str]) -> CreateRegistrySecret:
    return CreateRegistrySecret(
        name=fields["name"],
        server=fields["server"],
        username=fields["username"],
        password=Secret(fields["password"]),
        email=fields["email"] or None,
        where=Where(context=state.context, namespace=state.namespace),
        dry_run=DryRun.SERVER if state.dry_run else DryRun.NONE,
    )


LOGIN_FIELDS = ("username", "password", "email")


def login_modal(state: DialogState, locale: str | None, *, username: str = "", email: str = "") -> View:
    """Replace the login for ``state.server`` in secret ``state.secret``: asks for the username
    and the password (typed here and nowhere else); the secret and registry are fixed."""
    intro = t(
        "views.login_intro",
        locale,
        name=state.secret,
        server=state.server,
        namespace=state.namespace or "default",
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
        _input("username", "username", t("views.secret_username", locale), initial=username),
        _input(
            "password",
            "password",
            t("views.secret_password", locale),
            hint=t("views.secret_password_hint", locale),
        ),
        _input("email", "email", t("views.secret_email", locale), initial=email, optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": LOGIN_CALLBACK,
        "title": _title(t("views.login_title", locale)),
        "submit": _title(t("views.login_submit", locale)),
        "close": _title(t("views.cancel", locale)),
        "private_metadata": state.to_metadata(),
        "blocks": blocks,
    }


def read_login(view: View) -> tuple[DialogState, dict[str, str]]:
    """The submitted login fields (strings, possibly empty) and the secret/registry they are for."""
    values = (view.get("state") or {}).get("values") or {}
    fields = {
        key: str(((values.get(key) or {}).get(key) or {}).get("value") or "").strip() for key in LOGIN_FIELDS
    }
    return DialogState.from_metadata(view.get("private_metadata", "")), fields


def login_request(state: DialogState, fields: dict[str, str]) -> ReplaceRegistryLogin:
    return ReplaceRegistryLogin(
        name=state.secret,
        server=state.server,
        username=fields["username"],
        password=Secret(fields["password"]),
        email=fields["email"] or None,
        where=Where(context=state.context, namespace=state.namespace),
        dry_run=DryRun.SERVER if state.dry_run else DryRun.NONE,
    )


def attach_request(value: str) -> AttachPullSecret:
    """The request behind an "attach" fix button (its value, see ``render.blocks.fix_button``)."""
    raw = json.loads(value or "{}")
    return AttachPullSecret(
        name=str(raw.get("name") or ""),
        service_account=str(raw.get("service_account") or "default"),
        where=Where(context=raw.get("context"), namespace=raw.get("namespace")),
    )
