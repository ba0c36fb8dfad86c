"""kubectl's -o yaml / -o json printing rules, case by case (go-yaml v2, Go's encoding/json).

tests/integration/test_kubectl_parity.py compares whole objects with the real kubectl."""

from __future__ import annotations

import pytest

from podbot.core.kubeprint import json_text, needs_quotes, yaml_text
from podbot.k8s.actions import without_managed_fields


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("nginx", False),
        ("10.0.0.130:5000/nginx:latest", False),
        ("True", True),  # a boolean to go-yaml (condition status)
        ("y", True),  # YAML 1.1 boolean in go-yaml, a string to PyYAML's resolver
        ("off", True),
        ("80", True),
        ("0x1F", True),
        ("1e3", True),  # a float to go-yaml (PyYAML's resolver wants a dot)
        ("2026-03-01T12:00:00Z", True),  # timestamps are quoted although they decode as text
        ("2026-1-2", True),
        ("2026-13-01", False),  # not a date
        ("12:30", True),  # base-60
        ("", True),  # null
        ("~", True),
        ("null", True),
        ("a: b", False),  # plain is impossible, but it is a string: the emitter single-quotes it
    ],
)
def test_which_strings_go_yaml_quotes(text: str, quoted: bool) -> None:
    assert needs_quotes(text) is quoted


def test_yaml_key_order_is_go_yamls() -> None:
    # digit runs compare as numbers; a non-letter sorts before a letter (kubectl 1.32 prints the
    # labels a_b, a9, a10, aB, app in this order)
    keys = ["a10", "a9", "aB", "a_b", "ab", "a", "b2", "b10", "Z", "_x"]
    text = yaml_text(dict.fromkeys(keys, 1))
    assert [line.split(":")[0] for line in text.splitlines()] == [
        "_x",
        "Z",
        "a",
        "a_b",
        "a9",
        "a10",
        "aB",
        "ab",
        "b2",
        "b10",
    ]


def test_yaml_styles() -> None:
    text = yaml_text({"s": "True", "n": 80, "b": True, "z": None, "m": "one\ntwo\n", "e": {}, "l": []})
    # the key "n" is quoted too: go-yaml reads a plain n as false
    assert text == 'b: true\ne: {}\nl: []\nm: |\n  one\n  two\n"n": 80\ns: "True"\nz: null\n'


def test_json_like_go_marshal_indent() -> None:
    text = json_text({"b": "<a> & c\u2028", "a": [1, 2.0], "c": {}})
    escaped = '"b": "\\u003ca\\u003e \\u0026 c\\u2028"'
    assert text == '{\n    "a": [\n        1,\n        2\n    ],\n    ' + escaped + ',\n    "c": {}\n}\n'


def test_typed_pod_json_uses_go_struct_order() -> None:
    pod = {
        "status": {},
        "spec": {"restartPolicy": "Always", "containers": [{"resources": {}, "image": "x", "name": "a"}]},
        "metadata": {"labels": {"run": "a"}, "name": "a", "creationTimestamp": None},
        "kind": "Pod",
        "apiVersion": "v1",
    }
    text = json_text(pod, typed_pod=True)
    keys = [line.strip().split('"')[1] for line in text.splitlines() if line.strip().startswith('"')]
    assert keys == [
        "kind",
        "apiVersion",
        "metadata",
        "name",
        "creationTimestamp",
        "labels",
        "run",
        "spec",
        "containers",
        "name",
        "image",
        "resources",
        "restartPolicy",
        "status",
    ]


def test_managed_fields_are_left_out_and_the_rest_kept() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}]}, "spec": {}}
    assert without_managed_fields(obj) == {"kind": "Pod", "metadata": {"name": "a"}, "spec": {}}
    assert obj["metadata"]["managedFields"]  # the input is not changed
    plain = {"kind": "Pod", "metadata": {"name": "a"}}
    assert without_managed_fields(plain) is plain
