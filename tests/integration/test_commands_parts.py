"""The parser's parts alone: tokenizer, name rules, image references, selectors, durations, cron, help."""

from __future__ import annotations

import re

import pytest

from podbot.commands import help_text, parse, schedule, selectors, tokens
from podbot.commands.help import ALIASES, CONCEPTS, VERBS, topics
from podbot.core import i18n, names
from podbot.core.errors import UsageError
from podbot.core.messages import Problem
from podbot.core.model import ShowHelp

# --- tokenizer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("a b  c", ["a", "b", "c"]),
        ("a 'b c' \"d e\"", ["a", "b c", "d e"]),
        ("a\\ b", ["a b"]),
        ('"a \\"q\\" b"', ['a "q" b']),
        ("'it''s'", ["its"]),
        ("x=''", ["x="]),
        ('""', [""]),
        ("\u201cleft right\u201d", ["left right"]),
        ("\u2018single\u2019", ["single"]),
        ("don\u2019t stop", ["don\u2019t", "stop"]),
        ("--reason it's", ["--reason", "it's"]),
        ("'it's fine'", ["it's fine"]),
        ("\u2014image=x", ["--image=x"]),
        ("\u2013n x", ["--n", "x"]),
        ("\uff0dn x", ["-n", "x"]),
        ("\u2014", ["--"]),
        ("a\u3000b\u00a0c", ["a", "b", "c"]),
        ("a \\\n b", ["a", "b"]),
        ("ab\\\ncd", ["abcd"]),
        ("'\u2014x'", ["\u2014x"]),  # quoted: left alone
    ],
)
def test_split(line: str, words: list[str]) -> None:
    assert [t.text for t in tokens.split(line)] == words


@pytest.mark.parametrize(("line", "column"), [("'abc", 1), ('a "b', 3), ("a \u201cb", 3)])
def test_split_unterminated(line: str, column: int) -> None:
    with pytest.raises(Problem) as caught:
        tokens.split(line)
    assert caught.value.message.params == {"column": column}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("&amp;lt;", "&lt;"),
        ("<@U123|alice>", "@U123"),
        ("<@W0ABC>", "@W0ABC"),
        ("<#C123|general>", "#C123"),
        ("<!here>", "@here"),
        ("<!subteam^S1|@ops>", "@ops"),
        ("<http://example.com|example.com>", "example.com"),
        ("<https://index.docker.io/v1/>", "https://index.docker.io/v1/"),
        ("<mailto:a@b.io|a@b.io>", "a@b.io"),
        ("x\u200by", "xy"),
        ("a\r\nb\rc", "a\nb\nc"),
    ],
)
def test_clean_slack_text(raw: str, clean: str) -> None:
    assert tokens.clean(raw) == clean


@pytest.mark.parametrize(
    ("text", "command", "manifest"),
    [
        ("create", "create", None),
        ("create -f -\nkind: Pod\n", "create -f -", "kind: Pod\n"),
        ("create\n\n  \nkind: Pod\n\n", "create", "kind: Pod\n"),
        ("create ```kind: Pod```", "create ", "kind: Pod\n"),
        ("create -n x\n```yaml\nkind: Pod\n```", "create -n x", "kind: Pod\n"),
        ("create ```json\n{}\n```", "create ", "{}\n"),
        ("create\ncat >p.yaml<<EOF\nkind: Pod\nEOF\n", "create", "kind: Pod\n"),
        ("create\ncat > p.yaml << 'END'\nkind: Pod\nEND", "create", "kind: Pod\n"),
        ("create\ncat >p.yaml<<EOF\nkind: Pod\n", "create", "cat >p.yaml<<EOF\nkind: Pod\n"),  # no end marker
    ],
)
def test_split_manifest(text: str, command: str, manifest: str | None) -> None:
    parts = tokens.split_manifest(text)
    assert (parts.command, parts.manifest) == (command, manifest)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "subdomain_ok", "label_ok"),
    [
        ("nginx", True, True),
        ("a", True, True),
        ("0", True, True),
        ("my-pod-1", True, True),
        ("my.pod", True, False),
        ("a" * 63, True, True),
        ("a" * 64, True, False),
        (".".join(["a" * 63] * 4)[:253], True, False),
        ("a" * 254, False, False),
        ("", False, False),
        ("-a", False, False),
        ("a-", False, False),
        ("A", False, False),
        ("a_b", False, False),
        ("a..b", False, False),
        ("ä", False, False),
        ("a b", False, False),
    ],
)
def test_dns_names(value: str, subdomain_ok: bool, label_ok: bool) -> None:
    assert (not names.subdomain_errors(value)) is subdomain_ok
    assert (not names.label_errors(value)) is label_ok


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("app", True),
        ("app.kubernetes.io/name", True),
        ("example.com/My_Key.1", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("/a", False),
        ("a/", False),
        ("a/b/c", False),
        ("Example.com/a", False),
        ("-a", False),
        ("a b", False),
    ],
)
def test_label_keys(key: str, ok: bool) -> None:
    assert (not names.qualified_name_errors(key)) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("web", True), ("A_b-1.2", True), ("-a", False), ("a" * 64, False), ("a b", False)],
)
def test_label_values(value: str, ok: bool) -> None:
    assert (not names.label_value_errors(value)) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [("PATH", True), ("my.env-name", True), ("1ABC", True), ("A B", True), ("", False), ("A=B", False)],
)
def test_env_names_follow_the_relaxed_rule(name: str, ok: bool) -> None:
    assert (not names.env_name_errors(name)) is ok


# Cases from distribution/reference's own tests (reference_test.go, normalize_test.go).
GOOD_IMAGES = [
    "nginx",
    "nginx:1.16",
    "library/nginx:latest",
    "10.0.0.130:5000/nginx:latest",
    "localhost/nginx",
    "localhost:5000/team/app:v1.2.3",
    "docker.io/library/busybox@sha256:" + "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
    "busybox:latest@sha256:" + "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
    "[2001:db8::1]:5000/repo",
    "Registry.Example.com/team/app",
    "a__b/c-d--e/f.g",
    "xn--7o8h.com/myimage:xn--7o8h.com",
    "foo_bar.com:8080",
]
BAD_IMAGES = [
    ("", "image_whitespace"),
    (" nginx", "image_whitespace"),
    ("nginx ", "image_whitespace"),
    ("Nginx", "image_uppercase"),
    ("docker.io/Library/nginx", "image_uppercase"),
    ("nginx:", "image_format"),
    (":latest", "image_format"),
    ("nginx@sha256:abc", "image_format"),
    ("a/b//c", "image_format"),
    ("-nginx", "image_format"),
    ("nginx:-tag", "image_format"),
    ("nginx:" + "t" * 129, "image_format"),
    ("ngïnx", "image_format"),
    ("a" * 64, "image_identifier"),
    ("a/" + "b" * 254, "image_too_long"),
]


@pytest.mark.parametrize("ref", GOOD_IMAGES)
def test_good_image_references(ref: str) -> None:
    assert names.image(ref) == ref


@pytest.mark.parametrize(("ref", "key"), BAD_IMAGES)
def test_bad_image_references(ref: str, key: str) -> None:
    with pytest.raises(Problem) as caught:
        names.image(ref)
    assert caught.value.message.key == f"commands.error.{key}"


# --- selectors -------------------------------------------------------------------------------

# Valid and invalid selectors from apimachinery's labels/selector_test.go (TestSelectorParse).
GOOD_SELECTORS = [
    "",
    "x=a,y=b,z=c",
    "x!=a,y=b",
    "x=",
    "x= ",
    "x=,z= ",
    "x= ,z= ",
    "!x",
    "x>1",
    "x>1,z<5",
    "x in (a,b)",
    "x in (a, b), y notin (c)",
    "x in ()",
    "x in (,)",
    "x in (a,,b)",
    "w in (in),z notin (notin)",
    "example.com/app=web",
    "a=b, c!=d ,e",
]
BAD_SELECTORS = [
    "x=a||y=b",
    "x==a==b",
    "!x=a",
    "x<a",
    "x in a",
    "x in (a",
    "x in (a b)",
    "x=(a)",
    "=a",
    "a,",
    ",a",
    "a b",
    "x>",
    "-x=1",
    "x=-1-",
    "a/b/c=1",
]


@pytest.mark.parametrize("selector", GOOD_SELECTORS)
def test_good_label_selectors(selector: str) -> None:
    assert selectors.label_selector(selector) == selector


@pytest.mark.parametrize("selector", BAD_SELECTORS)
def test_bad_label_selectors(selector: str) -> None:
    with pytest.raises(Problem):
        selectors.label_selector(selector)


@pytest.mark.parametrize(
    ("selector", "ok"),
    [
        ("status.phase=Running", True),
        ("status.phase==Running,spec.nodeName!=n1", True),
        ("metadata.name=a\\,b", True),
        ("metadata.name=", True),
        ("status.phase", False),
        ("status.phase=a,b", False),
        ("metadata.name=a\\x", False),
        ("spec.containers=x", False),
    ],
)
def test_field_selectors(selector: str, ok: bool) -> None:
    if ok:
        assert selectors.field_selector(selector) == selector
    else:
        with pytest.raises(Problem):
            selectors.field_selector(selector)


# --- durations and cron ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("30s", False, 30),
        ("5m", False, 300),
        ("1h30m", False, 5400),
        ("1.5h", False, 5400),
        ("90m", False, 5400),
        ("1500ms", False, 2),
        ("2d", True, 172800),
        ("1d12h", True, 129600),
        ("7d", True, 604800),
    ],
)
def test_durations(text: str, days: bool, seconds: int) -> None:
    assert schedule.duration_seconds(text, flag="--since", days=days) == seconds


@pytest.mark.parametrize(
    ("text", "days"), [("5", False), ("1d", False), ("m", False), ("1y", True), ("", True)]
)
def test_bad_durations(text: str, days: bool) -> None:
    with pytest.raises(Problem):
        schedule.duration_seconds(text, flag="--since", days=days)


@pytest.mark.parametrize(
    ("cron", "normalized"),
    [
        ("0 9 * * 1-5", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * MON-FRI", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * 0", "0 9 * * sun"),
        ("0 9 * * 7", "0 9 * * sun"),
        ("0 9 * * 0,7", "0 9 * * sun"),
        ("0 9 * * */2", "0 9 * * tue,thu,sat,sun"),
        ("0 9 * * 6-7", "0 9 * * sat,sun"),
        ("0 9 * * sun,sat", "0 9 * * sat,sun"),
        ("0 9 1 * *", "0 9 1 * *"),
        ("0 9 1,15 jan-mar *", "0 9 1,15 jan-mar *"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("5/20 * * * *", "5/20 * * * *"),
        ("0  9   *  *  *", "0 9 * * *"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_cron_is_normalized_for_apscheduler(cron: str, normalized: str) -> None:
    assert schedule.cron(cron) == normalized


def test_normalized_weekdays_mean_what_crontab_means_to_apscheduler() -> None:
    from datetime import UTC, datetime

    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(schedule.cron("0 9 * * 1-5"), timezone=UTC)
    fire = trigger.get_next_fire_time(None, datetime(2024, 6, 1, 10, 0, tzinfo=UTC))  # a Saturday
    assert fire is not None
    assert fire.strftime("%a %H:%M") == "Mon 09:00"  # crontab's 1-5 is Monday to Friday
    raw = CronTrigger.from_crontab("0 9 * * 1-5", timezone=UTC)
    raw_fire = raw.get_next_fire_time(None, datetime(2024, 6, 1, 10, 0, tzinfo=UTC))
    # Why podbot normalizes: APScheduler 3 counts 0 = Monday, so the raw "1-5" means Tuesday to Saturday.
    assert raw_fire is not None and raw_fire.strftime("%a") == "Tue"


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("topic", [None, *topics()])
def test_every_help_page_renders_within_a_slack_section(topic: str | None, locale: str) -> None:
    text = help_text(topic, locale)
    assert text.strip()
    assert len(text) <= 3000  # one Block Kit section
    assert not re.search(r"\{[a-z_]+\}", text)  # no unfilled placeholder
    if locale == "zh_CN":
        assert re.search("[\u4e00-\u9fff]", text)


def test_every_verb_has_usage_summary_and_page_in_every_locale() -> None:
    for locale in i18n.LOCALES:
        catalog = i18n.catalog(locale)
        for verb in VERBS:
            for section in ("commands.usage", "commands.summary", "help.verb"):
                assert f"{section}.{verb}" in catalog, (locale, section, verb)
        for concept in CONCEPTS:
            assert f"help.topic.{concept}" in catalog


def test_aliases_reach_real_topics() -> None:
    for alias, topic in ALIASES.items():
        assert topic in VERBS or topic in CONCEPTS, alias
        assert parse(f"help {alias}") == ShowHelp(topic)


@pytest.mark.parametrize(
    ("topic", "facts"),
    [
        ("pause", ["network namespace"]),
        ("init", ["one at a time", "in the order", "Init:"]),
        ("containers", ["in parallel"]),
        (
            "static",
            ["/etc/kubernetes/manifests", "--manifest-url", "mirror pod", "kubectl delete", "kube-apiserver"],
        ),
        (
            "secrets",
            ["no basic auth credentials", "imagePullSecrets", "secret docker-registry myregistrykey"],
        ),
        ("pod", ["pause", "init", "parallel"]),
        ("run", ["--replicas", "--generator=run-pod/v1", "no effect"]),
        ("create", ["create -f nginx-pod.yaml", "10.0.0.130:5000/nginx:latest"]),
    ],
)
def test_help_explains_the_seed_concepts(topic: str, facts: list[str]) -> None:
    text = help_text(topic, "en")
    for fact in facts:
        assert fact in text, (topic, fact)


@pytest.mark.parametrize(
    ("topic", "facts"),
    [
        ("pause", ["网络命名空间"]),
        ("init", ["逐个执行"]),
        ("containers", ["并行"]),
        ("static", ["/etc/kubernetes/manifests", "镜像 Pod", "kubectl delete"]),
    ],
)
def test_chinese_help_explains_them_too(topic: str, facts: list[str]) -> None:
    text = help_text(topic, "zh_CN")
    for fact in facts:
        assert fact in text


def test_help_for_an_unknown_topic_suggests_one() -> None:
    with pytest.raises(UsageError) as caught:
        help_text("statik", "en")
    assert "Did you mean `static`?" in caught.value.message
