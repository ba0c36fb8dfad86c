"""Label and field selector parsing/matching, with the API server's error wording."""

from __future__ import annotations

import pytest

from podbot.sim.objects.selectors import (
    SelectorError,
    check_field_labels,
    parse_field_selector,
    parse_label_selector,
)

LABELS = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("missing!=x", True),  # != matches objects without the label
        ("app in (web,db)", True),
        ("app in (db)", False),
        ("app notin (db,cache)", True),
        ("missing notin (x)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier=front", True),
        ("app=web,tier=back", False),
        ("version>2", True),
        ("version<3", False),
        ("missing>1", False),
        ("  app = web ,  tier in ( front , back )  ", True),
        ("app=", False),
        ("example.com/team=x", False),
    ],
)
def test_label_selector_matching(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a=b,", "found 'end of string', expected: identifier"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        (
            "a in ()",
            "unable to parse requirement: values: Invalid value: []string{}: "
            "for 'in', 'notin' operators, values set can't be empty",
        ),
        ("a in (x", "unable to parse requirement: found 'end of string', expected: ',' or ')'"),
        ("a>x", "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"),
    ],
)
def test_label_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(selector)
    assert str(info.value).startswith(message)


def test_label_selector_key_and_value_validation_messages() -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector("-bad=x")
    assert str(info.value).startswith(
        'unable to parse requirement: key: Invalid value: "-bad": name part must consist of'
    )
    with pytest.raises(SelectorError) as info:
        parse_label_selector("a=-x-")
    assert str(info.value).startswith(
        'unable to parse requirement: values[0][a]: Invalid value: "-x-": '
        "a valid label must be an empty string"
    )


@pytest.mark.parametrize(
    ("selector", "fields", "matches"),
    [
        ("metadata.name=x", {"metadata.name": "x"}, True),
        ("metadata.name==x", {"metadata.name": "x"}, True),
        ("metadata.name!=x", {"metadata.name": "x"}, False),
        ("spec.nodeName=", {"spec.nodeName": ""}, True),  # unscheduled pods
        ("spec.nodeName!=", {"spec.nodeName": "node01"}, True),
        (
            "status.phase=Running,spec.nodeName=node01",
            {"status.phase": "Running", "spec.nodeName": "node01"},
            True,
        ),
        (
            "status.phase=Running,spec.nodeName=node02",
            {"status.phase": "Running", "spec.nodeName": "node01"},
            False,
        ),
        (r"metadata.name=a\,b", {"metadata.name": "a,b"}, True),
        (r"metadata.name=a\=b", {"metadata.name": "a=b"}, True),
    ],
)
def test_field_selector_matching(selector: str, fields: dict[str, str], matches: bool) -> None:
    assert parse_field_selector(selector).matches(fields) is matches


def test_field_selector_syntax_error() -> None:
    with pytest.raises(SelectorError) as info:
        parse_field_selector("abc")
    assert str(info.value) == "invalid selector: 'abc'; can't understand 'abc'"


def test_field_selector_exact_value_lookup() -> None:
    selector = parse_field_selector("metadata.namespace=prod,metadata.name!=x")
    assert selector.exact("metadata.namespace") == "prod"
    assert selector.exact("metadata.name") is None


@pytest.mark.parametrize(
    ("generic", "message"),
    [
        (False, "field label not supported: spec.foo"),
        (True, '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ],
)
def test_unsupported_field_labels_are_refused_like_the_kind_converters(generic: bool, message: str) -> None:
    check_field_labels(parse_field_selector("metadata.name=a,spec.nodeName=b"), ("spec.nodeName",), generic)
    with pytest.raises(SelectorError) as info:
        check_field_labels(parse_field_selector("spec.foo=1"), ("spec.nodeName",), generic)
    assert str(info.value) == message
