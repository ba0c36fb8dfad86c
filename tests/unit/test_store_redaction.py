"""Defensive redaction (pure): secrets go, everything else stays readable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from podbot.core.redaction import is_secret_key, redact

S = "s3cr3t-Value_42"

# (text, what must remain) — the secret S must always disappear.
CASES = [
    (
        f"secret docker-registry regcred --docker-server=10.0.0.130:5000 --docker-username=bob "
        f"--docker-password={S} --docker-email=bob@example.com",
        "secret docker-registry regcred --docker-server=10.0.0.130:5000 --docker-username=bob "
        "--docker-password=*** --docker-email=bob@example.com",
    ),
    (f"--docker-password {S} --docker-email a@b.c", "--docker-password *** --docker-email a@b.c"),
    (f"--docker-password '{S} with spaces'", "--docker-password '***'"),
    (f'--password="{S}"', '--password="***"'),
    (f"--token={S}", "--token=***"),
    (f"password: {S}\nuser: bob", "password: ***\nuser: bob"),
    (f"password: {S} and more words", "password: ***"),
    (f'{{"password": "{S}", "user": "bob"}}', '{"password": "***", "user": "bob"}'),
    (f"env DB_PASSWORD={S} MODE=fast", "env DB_PASSWORD=*** MODE=fast"),
    (
        f"run app --image=app:1 --env=DB_PASSWORD={S} --env=MODE=x",
        "run app --image=app:1 --env=DB_PASSWORD=*** --env=MODE=x",
    ),
    (f"image=nginx user: bob password={S}", "image=nginx user: bob password=***"),
    (f"clientSecret: {S}", "clientSecret: ***"),
    (f"aws_secret_access_key = {S}", "aws_secret_access_key = ***"),
    (
        f"--from-literal=password={S} --from-literal user={S}",
        "--from-literal=password=*** --from-literal user=***",
    ),
    (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ndata:\n  .dockerconfigjson: {S}\n"
        f"  other: |\n    line: {S}\n    {S}\ntype: kubernetes.io/dockerconfigjson",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ndata:\n  .dockerconfigjson: ***\n"
        "  other: |\n    ***\n    ***\ntype: kubernetes.io/dockerconfigjson",
    ),
    (
        f"stringData:\n  anything: {S}\n  more: {S}\nkind: Secret",
        "stringData:\n  anything: ***\n  more: ***\nkind: Secret",
    ),
    (
        f'{{"kind":"Secret","data":{{".dockerconfigjson":"{S}","x":"{S}"}}}}',
        '{"kind":"Secret","data":{".dockerconfigjson":"***","x":"***"}}',
    ),
    (f"stringData: {{anything: {S}, more: {S}}}", "stringData: {anything: ***, more: ***}"),
    (
        f"pull from https://bob:{S}@registry.example.com/v2/",
        "pull from https://bob:***@registry.example.com/v2/",
    ),
    (f"Authorization: Bearer {S}", "Authorization: Bearer ***"),
    (f"Authorization: Basic {S}", "Authorization: Basic ***"),
    ("token xoxb-1234567890-0987654321-AbCdEfGhIjKl", "token ***"),
    ("app token xapp-1-A0123-4567-abcdef", "app token ***"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_secrets_are_masked(text: str, expected: str) -> None:
    redacted = redact(text)
    assert redacted == expected
    assert S not in redacted and "xoxb-1234567890" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "run nginx --image=nginx:1.27 --port=80 --env=MODE=fast",
        "get pods -n shop -l app=web -o wide",
        "delete pod web-1 --reason 'password rotation'",
        "automountServiceAccountToken: false\nimagePullSecrets:\n- name: regcred\nsecretName: tls",
        "secret docker-registry regcred --docker-server=10.0.0.130:5000 --docker-username=bob",
        "secret docker-registry regcred --docker-password --docker-email a@b.c",  # asks in a modal
        "password: ***",  # already redacted upstream
        "",
    ],
)
def test_harmless_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("docker-password", True),
        ("DB_PASSWORD", True),
        ("slackToken", True),
        ("client_secret", True),
        (".dockerconfigjson", True),
        ("auth", True),
        ("api-key", True),
        ("secretName", False),
        ("imagePullSecrets", False),
        ("docker-username", False),
        ("docker-server", False),
        ("tokenExpirationSeconds", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_records_and_redaction_are_pure_imports() -> None:
    # A fresh interpreter: pure layers may import the record types without loading SQLAlchemy.
    probe = (
        "import sys, podbot.store, podbot.core.records, podbot.core.redaction;"
        "from podbot.store import Approval, ApprovalState;"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
