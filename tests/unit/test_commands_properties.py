"""Property tests: ``parse`` is total (a request or a UsageError, nothing else) and never leaks a password."""

from __future__ import annotations

import os
import string
from typing import get_args

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from podbot.commands import parse
from podbot.commands.channel import ALERTS_FLAGS, AUDIT_FLAGS, SUBSCRIBE_FLAGS
from podbot.commands.create import CREATE_FLAGS, SECRET_FLAGS
from podbot.commands.delete import DELETE_POD_FLAGS
from podbot.commands.pods import GET_FLAGS, LOGS_FLAGS, STATIC_FLAGS
from podbot.commands.run import RUN_FLAGS
from podbot.core import i18n
from podbot.core.errors import UsageError
from podbot.core.model import CreateRegistrySecret, Request

REQUEST_TYPES = get_args(Request)
# PODBOT_FUZZ_SCALE=20 runs twenty times as many examples (CI keeps the default, ~10 s in all).
SCALE = int(os.environ.get("PODBOT_FUZZ_SCALE", "1"))
VERBS = [
    "run", "create", "get", "describe", "logs", "delete", "secret", "static", "help", "approvals",
    "audit", "subscribe", "subscriptions", "unsubscribe", "alerts", "kubectl", "exec", "gte", "",
]  # fmt: skip
ALL_FLAGS = sorted(
    {
        form
        for group in (
            RUN_FLAGS,
            CREATE_FLAGS,
            SECRET_FLAGS,
            GET_FLAGS,
            LOGS_FLAGS,
            DELETE_POD_FLAGS,
            STATIC_FLAGS,
            AUDIT_FLAGS,
            SUBSCRIBE_FLAGS,
            ALERTS_FLAGS,
        )
        for flag in group
        for form in (f"--{flag.name}", *([f"-{flag.short}"] if flag.short else []))
    }
    | {
        "--",
        "-",
        "--force",
        "--all",
        "-A",
        "-it",
        "-w",
        "-f",
        "--kubeconfig",
        "--help",
        "-h",
        "--bogus",
        "-pc",
        "-Ao",
    }
)
WORDS = [
    "pods", "pod", "po", "pod/nginx", "secret", "secrets", "docker-registry", "deploy", "nginx", "web",
    "health", "image-pulls", "on", "off", "3", "#3", "init", "static", "pause", "-1", "0", "1h", "5m", "2d",
    "*/5 * * * *", "0 9 * * 1-5", "app=web", "env in (a,b)", "!x", "a=b,c", "nginx:1.16", "Wide", "yaml",
    "true", "false", "Never", "server", "{}", '{"a":1}', "", " ", "ä", "中文", "k=v", "U024BE7LH", "<@U1|a>",
]  # fmt: skip
NASTY = string.printable + "“”‘’—–－　\u00a0\u200b`&;<>|\\\"'=,()!*#@/:{}[]中文é"


def _assert_total(text: str, locale: str | None = None) -> None:
    try:
        result = parse(text, locale=locale)
    except UsageError as err:
        assert err.message
        assert isinstance(str(err), str)
    else:
        assert isinstance(result, REQUEST_TYPES)


@pytest.mark.slow
@settings(max_examples=400 * SCALE, deadline=None)
@given(st.text(max_size=300))
@example("")
@example('"')
@example("\\")
@example("create\n---\n---")
@example("create ```")
@example("```")
@example("`")
@example("—")
@example("--=")
@example("-")
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    _assert_total(text)


@settings(max_examples=400 * SCALE, deadline=None)
@given(st.text(alphabet=NASTY, max_size=200), st.sampled_from([None, "en", "zh_CN"]))
def test_shell_and_slack_characters_parse_or_are_usage_errors(text: str, locale: str | None) -> None:
    _assert_total(text, locale)


def _quote(token: str, style: int) -> str:
    if style == 1:
        return "'" + token.replace("'", "") + "'"
    if style == 2:
        return '"' + token.replace('"', "").replace("\\", "") + '"'
    if style == 3:
        return "\u201c" + token.replace("\u201d", "") + "\u201d"
    return token


_part = st.one_of(
    st.sampled_from(ALL_FLAGS),
    st.sampled_from(WORDS),
    st.builds(lambda f, v: f"{f}={v}", st.sampled_from(ALL_FLAGS), st.sampled_from(WORDS)),
    st.text(alphabet=NASTY, max_size=12),
)


@settings(max_examples=600 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VERBS),
    st.lists(st.tuples(_part, st.integers(0, 3)), max_size=10),
    st.booleans(),
    st.sampled_from([None, "en", "zh-CN"]),
)
@pytest.mark.slow
def test_random_flag_combinations_parse_or_are_usage_errors(
    verb: str, parts: list[tuple[str, int]], kubectl: bool, locale: str | None
) -> None:
    text = ("kubectl " if kubectl else "") + " ".join([verb, *(_quote(p, s) for p, s in parts)])
    _assert_total(text, locale)


_yamlish = st.lists(
    st.sampled_from(
        [
            "apiVersion: v1",
            "kind: Pod",
            "kind: Secret",
            "type: kubernetes.io/dockerconfigjson",
            "metadata:",
            "  name: nginx",
            "  name: Bad_Name",
            "  namespace: prod",
            "spec:",
            "  containers:",
            "    - name: a",
            "      image: nginx",
            "---",
            "...",
            "a: &x [1, 2]",
            "b: *x",
            "c: *nope",
            "- x",
            "key: yes",
            "{",
            "}",
            "[",
            "]",
            "  -",
            "\t",
            "x: 0o17",
            "y: 1e400",
            "z: .nan",
            "t: 2001-12-14",
            "!!binary aGk=",
            "!!set",
            "<<: *x",
            '"unterminated',
            "? [a]",
            ": v",
            "%YAML 1.1",
            "&a",
            "*a",
        ]
    ),
    max_size=25,
)


@settings(max_examples=400 * SCALE, deadline=None)
@given(_yamlish, st.sampled_from(["create\n", "create -f -\n", "create -n prod\n", "create ```yaml\n"]))
def test_create_with_random_manifests_parses_or_is_a_usage_error(lines: list[str], head: str) -> None:
    _assert_total(head + "\n".join(lines) + ("```" if "```" in head else ""))


# --- passwords -------------------------------------------------------------------------------

_CATALOG_TEXT = "\n".join(
    template for locale in i18n.LOCALES for template in i18n.catalog(locale).values()
)  # a password that happens to be a word of podbot's own messages is not a leak
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,./:;<>?@[]^_{|}~-=中密码é"


def _forms(password: str, *, bare: bool) -> st.SearchStrategy[list[str]]:
    """Ways a password ends up in a command line, right or wrong.

    ``bare``: also the password typed without its flag. That is only recognizable as a password
    after ``secret docker-registry NAME``; anywhere else a bare word is a name or an argument.
    """
    quoted = "'" + password + "'"
    bare_forms = [[password], ["--docker-password", password, "extra"]] if bare else []
    return st.sampled_from(
        [
            *bare_forms,
            [f"--docker-password={password}"],
            ["--docker-password", password],
            ["--docker-password", quoted],
            [f"--docker-password={quoted}"],
            [f"--docker-pasword={password}"],
            ["--docker-passwd", password],
            ["--password", password],
            ["-p", password],
            [f"--docker-password={password}", f"--docker-password={password}x"],
            [f"--docker-password={password}", "--bogus"],
            [f"--docker-password={password}", "--docker-server='bad host'"],
            [f"--docker-password={password}", "--docker-username="],
            [f"--docker-password={password}", "-n", "Bad_NS"],
            [f"--docker-password={password}", "--from-file=x"],
            [f"--token={password}"],
            ["--token", password],
            [f'--docker-password="{password}'],  # unterminated quote
        ]
    )


_NAMED_SECRET_HEADS = (
    "secret docker-registry key",
    "kubectl create secret docker-registry key",
    "create secret docker-registry key",
)
_HEADS = (
    *_NAMED_SECRET_HEADS,
    "secret docker-registry",
    "secret generic key",
    "run web --image=nginx",
    "get pods",
)


@st.composite
def _secret_commands(draw: st.DrawFn) -> tuple[str, str]:
    password = draw(st.text(alphabet=_PASSWORD_ALPHABET, min_size=6, max_size=24))
    assume(not password.startswith("-"))  # a bare "--word" is read as a flag name, as in any shell
    assume(password not in _CATALOG_TEXT)
    head = draw(st.sampled_from(_HEADS))
    groups = [
        draw(_forms(password, bare=head in _NAMED_SECRET_HEADS)),
        *draw(
            st.lists(
                st.sampled_from(
                    [
                        ["--docker-server=10.0.0.130:5000"],
                        ["--docker-username=test"],
                        ["-n", "prod"],
                        ["--dry-run=server"],
                        ["--docker-email=a@b.c"],
                        ["--context=lab"],
                        ["--docker-server", "--docker-username=x"],
                        ["--bogus=1"],
                        ["--"],
                        ["x"],
                    ]
                ),
                max_size=5,
            )
        ),
    ]
    parts = [token for group in draw(st.permutations(groups)) for token in group]
    text = head + " " + " ".join(parts)
    assume(all(password not in p for p in head.split()))
    return text, password


@pytest.mark.slow
@settings(max_examples=800 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_secret_commands(), st.sampled_from([None, "zh_CN"]))
def test_a_password_never_appears_in_any_message_or_repr(
    command: tuple[str, str], locale: str | None
) -> None:
    text, password = command
    try:
        request = parse(text, locale=locale)
    except UsageError as err:
        for shown in (str(err), err.message, err.hint, repr(err), repr(err.args)):
            assert password not in shown, (text, shown)
    else:
        # After "run ... --", a "--docker-password=..." is the container's own argument, which
        # the user chose to put in the pod spec; a registry secret request must hide it.
        if isinstance(request, CreateRegistrySecret):
            assert password not in repr(request)
            assert password not in str(request)


@pytest.mark.parametrize(
    "text",
    [
        "secret docker-registry k --docker-username=u --docker-password=hunter2hunter2 --docker-password=x",
        "secret docker-registry k --docker-username=u hunter2hunter2",
        "secret docker-registry k --docker-username=u --docker-pasword=hunter2hunter2",
        "create secret docker-registry k --docker-password hunter2hunter2",
        "secret docker-registry --docker-password=hunter2hunter2 Bad_Name --docker-username=u",
    ],
)
def test_password_cases_that_once_could_leak(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


def test_a_parsed_password_is_wrapped_and_hidden() -> None:
    request = parse("secret docker-registry k --docker-username=u --docker-password=hunter2hunter2")
    assert "hunter2" not in repr(request)
    assert request.password is not None  # type: ignore[union-attr]
    assert request.password.reveal() == "hunter2hunter2"  # type: ignore[union-attr]
