"""The manifest loader: hostile input refused with document/line/column; good input passed on faithfully."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from podbot.core.errors import UsageError
from podbot.core.manifests import MAX_BYTES, MAX_DOCUMENTS, ManifestError, load_manifests
from tests.support.seed import SEED_POD

REGISTRY_SECRET = """apiVersion: v1
kind: Secret
type: kubernetes.io/dockerconfigjson
metadata:
  name: myregistrykey
  namespace: default
data:
  .dockerconfigjson: eyJhdXRocyI6eyIxMC4wLjAuMTMwOjUwMDAiOnsiYXV0aCI6ImRHVnpkRG94TWpNME5UWT0ifX19
"""


def _pod(extra: str = "", name: str = "a") -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n{extra}"


def _refused(text: str, locale: str | None = None) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_manifests(text, locale=locale)
    assert isinstance(caught.value, UsageError)
    return caught.value


# --- good input ------------------------------------------------------------------------------


def test_the_seed_pod() -> None:
    [pod] = load_manifests(SEED_POD)
    assert (pod.index, pod.line, pod.api_version, pod.kind, pod.name, pod.namespace) == (
        1,
        1,
        "v1",
        "Pod",
        "nginx",
        None,
    )
    assert json.loads(pod.body) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "labels": {"app": "web"}},
        "spec": {
            "containers": [
                {"name": "nginx", "image": "10.0.0.130:5000/nginx:latest", "ports": [{"containerPort": 80}]}
            ],
            "imagePullSecrets": [{"name": "myregistrykey"}],
        },
    }
    assert pod.obj == json.loads(pod.body)
    assert pod.source == SEED_POD


def test_multi_document_stream_counts_empty_documents_like_a_reader() -> None:
    text = "---\n# nothing here\n---\n" + SEED_POD + "---\n---\n" + REGISTRY_SECRET + "...\n"
    pod, secret = load_manifests(text)
    assert (pod.index, pod.kind, pod.name) == (2, "Pod", "nginx")
    assert (secret.index, secret.kind, secret.name, secret.namespace) == (
        4,
        "Secret",
        "myregistrykey",
        "default",
    )
    assert secret.secret_type == "kubernetes.io/dockerconfigjson"
    assert pod.line == 4


def test_unknown_fields_reach_the_server_unchanged() -> None:
    # The API server, not podbot, decides about fields (fieldValidation=Strict): keep them all.
    text = _pod(
        "  annotations: {a: b}\nspec:\n  containers: []\n  futureField: {x: [1, 2]}\nextraTopLevel: 1\n"
    )
    [pod] = load_manifests(text)
    body = json.loads(pod.body)
    assert body["spec"]["futureField"] == {"x": [1, 2]}
    assert body["extraTopLevel"] == 1
    assert list(body) == ["apiVersion", "kind", "metadata", "spec", "extraTopLevel"]  # order kept


@pytest.mark.parametrize(
    ("yaml_value", "json_value"),
    [
        # go-yaml v2 typing, which is what kubectl's YAML-to-JSON conversion uses
        ("yes", True),
        ("y", True),
        ("No", False),
        ("off", False),
        ("'yes'", "yes"),
        ("12:30", "12:30"),  # PyYAML's YAML 1.1 would say 750 (base 60)
        ("2001-12-14", "2001-12-14"),  # timestamps stay strings
        ("2001-12-14T21:59:43.10Z", "2001-12-14T21:59:43.10Z"),
        ("0o17", 15),
        ("017", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("-0b11", -3),
        ("1e3", 1000),  # Go's encoding/json writes 1000, not 1000.0
        ("1.5", 1.5),
        (".5", 0.5),
        ("08", 8),
        ("1e400", "1e400"),  # Go's ParseFloat overflows; go-yaml keeps the text
        ("~", None),
        ("", None),
        ("!!str 123", "123"),
        ("!!float 1", 1),
        ("12345678901234567890123", 1.2345678901234568e22),  # beyond uint64: a float, as in Go
        ("18446744073709551615", 18446744073709551615),  # fits uint64
        ("nginx:1.16", "nginx:1.16"),
        ("[a, {b: c}]", ["a", {"b": "c"}]),
    ],
)
def test_yaml_values_become_the_json_kubectl_would_send(yaml_value: str, json_value: object) -> None:
    [pod] = load_manifests(_pod(f"spec:\n  v: {yaml_value}\n"))
    body = json.loads(pod.body)
    assert body["spec"]["v"] == json_value
    if json_value == 1000:
        assert '"v":1000}' in pod.body


def test_non_string_keys_become_strings_as_kubectl_makes_them() -> None:
    [pod] = load_manifests(_pod("spec:\n  1: one\n  true: t\n  n: no\n"))
    assert json.loads(pod.body)["spec"] == {"1": "one", "true": "t", "false": False}
    # "y" is the boolean true as a key too, so with "true" it is a duplicate
    assert _refused(_pod("spec:\n  true: 1\n  y: 2\n")).key == "manifest.error.duplicate_key"


def test_merge_keys_and_anchors_expand() -> None:
    text = "x-base: &base {app: web, tier: front}\n" + _pod("  labels:\n    <<: *base\n    tier: back\n")
    [pod] = load_manifests(text)
    assert json.loads(pod.body)["metadata"]["labels"] == {"app": "web", "tier": "back"}


def test_json_is_passed_through_byte_for_byte() -> None:
    text = (
        '{"kind": "Pod",   "apiVersion":"v1", "metadata": {"name": "j"}, '
        '"n": 12345678901234567890123, "f": 1.0}'
    )
    [pod] = load_manifests(text)
    assert pod.body == text
    assert (pod.kind, pod.name) == ("Pod", "j")


def test_a_json_stream_and_a_json_list_document() -> None:
    text = (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}\n'
        '\n  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}\n'
    )
    a, b = load_manifests(text)
    assert (a.index, a.name, b.index, b.name, b.line) == (1, "a", 2, "b", 3)
    assert b.body == '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}'


def test_a_yaml_flow_mapping_that_looks_like_json() -> None:
    [pod] = load_manifests("{apiVersion: v1, kind: Pod, metadata: {name: flow}}")
    assert pod.name == "flow"


def test_generate_name_is_enough() -> None:
    [pod] = load_manifests("apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\n")
    assert (pod.name, pod.generate_name) == (None, "web-")


def test_repr_never_shows_the_secret_data() -> None:
    [secret] = load_manifests(REGISTRY_SECRET)
    assert "eyJhdXRocyI6" not in repr(secret)
    assert "eyJhdXRocyI6" in secret.body  # but the API server gets it


# --- refused input ---------------------------------------------------------------------------


def test_billion_laughs_is_refused_fast_and_small() -> None:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    tracemalloc.start()
    started = time.perf_counter()
    err = _refused(text)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert err.key == "manifest.error.expands_too_much"
    assert "billion laughs" in err.message
    assert elapsed < 1.0, elapsed  # expanding it would take minutes and gigabytes
    assert peak < 5_000_000, peak


def test_a_quadratic_alias_bomb_within_the_alias_budget_is_refused_too() -> None:
    big = "x" * 40_000
    text = f"a: &a {big}\nb: [" + ", ".join(["*a"] * 90) + "]\n"  # 90 aliases of 40 KB = 3.6 MB expanded
    assert _refused(text).key == "manifest.error.expands_too_much"


def test_too_many_aliases() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    err = _refused(text)
    assert err.key == "manifest.error.too_many_aliases"
    assert (err.document, err.line) == (1, 2)


def test_recursive_alias() -> None:
    assert _refused("a: &a [1, *a]\n").key == "manifest.error.recursive_alias"


def test_deep_nesting_yaml_and_json() -> None:
    assert _refused("a: " + "[" * 150 + "]" * 150 + "\n").key == "manifest.error.too_deep"
    assert _refused("[" * 50_000 + "]" * 50_000).key == "manifest.error.too_deep"
    # Within the textual limit, but nested deeper once aliases expand:
    chain = "l0: &l0 " + "[" * 60 + "1" + "]" * 60 + "\n"
    chain += "l1: &l1 " + "[" * 60 + "*l0" + "]" * 60 + "\n"
    assert _refused(chain).key == "manifest.error.too_deep"


def test_size_cap() -> None:
    body = _pod("spec:\n  pad: '" + "x" * (MAX_BYTES - 200) + "'\n")
    assert len(body.encode()) < MAX_BYTES
    load_manifests(body)
    err = _refused(body + "#" * 300)
    assert err.key == "manifest.error.too_large"
    assert "257 KiB" in err.message and "256 KiB" in err.message


def test_too_many_documents() -> None:
    text = "---\n".join(_pod(name=f"p{i}") for i in range(MAX_DOCUMENTS + 1))
    assert _refused(text).key == "manifest.error.too_many_documents"


@pytest.mark.parametrize(
    ("text", "key", "document", "line", "column", "fragment"),
    [
        (
            _pod("  name: b\n"),
            "manifest.error.duplicate_key",
            1,
            5,
            3,
            'duplicate key "name" (first on line 4)',
        ),
        (
            SEED_POD + "---\n" + _pod("spec:\n  containers:\n  - name: a\n    image: x\n    image: y\n"),
            "manifest.error.duplicate_key",
            2,
            24,
            5,
            'duplicate key "image" (first on line 23)',
        ),
        ("kind: Pod\nkind: Pod\n", "manifest.error.duplicate_key", 1, 2, 1, '"kind"'),
        ("a: b: c\n", "manifest.error.yaml_syntax", 1, 1, 5, "mapping values are not allowed"),
        ("apiVersion: v1\n\tkind: Pod\n", "manifest.error.yaml_syntax", 1, 2, 1, "YAML syntax error"),
        (SEED_POD + "---\nfoo: [unclosed\n", "manifest.error.yaml_syntax", 2, 17, 1, "expected ',' or ']'"),
        ("x: *undefined\n", "manifest.error.yaml_syntax", 1, 1, 4, "undefined alias"),
        ("x: \x00\n", "manifest.error.character", None, 1, 4, "U+0000"),
        ("x: !!binary aGk=\n", "manifest.error.tag", 1, 1, 4, "!!binary"),
        ("x: !custom 1\n", "manifest.error.tag", 1, 1, 4, "!custom"),
        ("x: !!set {a}\n", "manifest.error.tag", 1, 1, 4, "!!set"),
        ("x: !!int abc\n", "manifest.error.tag_mismatch", 1, 1, 4, '"abc" is not a valid !!int'),
        ("x: .nan\n", "manifest.error.not_json_number", 1, 1, 4, ".nan"),
        ("x: -.inf\n", "manifest.error.not_json_number", 1, 1, 4, "-.inf"),
        ("? [a, b]\n: c\n", "manifest.error.complex_key", 1, 1, 3, "plain string"),
        ("1.5: x\n", "manifest.error.key_type", 1, 1, 1, '"1.5"'),
        ("- a\n- b\n", "manifest.error.not_mapping", 1, 1, 1, "is a list"),
        ("just text\n", "manifest.error.not_mapping", 1, 1, 1, "is a string"),
        (
            "kind: Pod\nmetadata: {name: a}\n",
            "manifest.error.missing_field",
            1,
            1,
            1,
            "`apiVersion` is missing",
        ),
        (
            "apiVersion: v1\nmetadata: {name: a}\n",
            "manifest.error.missing_field",
            1,
            1,
            1,
            "`kind` is missing",
        ),
        (
            "apiVersion: 1\nkind: Pod\n",
            "manifest.error.not_string",
            1,
            1,
            13,
            "`apiVersion` must be a string",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
            "manifest.error.kind",
            1,
            2,
            7,
            "podbot does not create Deployment (apps/v1) objects",
        ),
        ("apiVersion: v1\nkind: List\nitems: []\n", "manifest.error.kind", 1, 2, 7, "List"),
        ("apiVersion: v1\nkind: ConfigMap\n", "manifest.error.kind", 1, 2, 7, "ConfigMap"),
        ("apiVersion: apps/v1\nkind: Pod\n", "manifest.error.api_version", 1, 1, 13, 'not "apps/v1"'),
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: b}\n",
            "manifest.error.secret_type",
            1,
            1,
            1,
            'not "Opaque"',
        ),
        (
            "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: s}\n",
            "manifest.error.secret_type",
            1,
            3,
            7,
            'not "kubernetes.io/tls"',
        ),
        (
            "apiVersion: v1\nkind: Pod\n",
            "manifest.error.missing_field",
            1,
            1,
            1,
            "`metadata.name` is missing",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: [a]\n",
            "manifest.error.not_mapping_field",
            1,
            3,
            11,
            "a list",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {}\n",
            "manifest.error.missing_field",
            1,
            3,
            11,
            "metadata.name",
        ),
        (_pod(name="Nginx"), "manifest.error.invalid_name", 1, 4, 9, "RFC 1123 subdomain"),
        (_pod("  namespace: Prod\n"), "manifest.error.invalid_name", 1, 5, 14, "RFC 1123 label"),
        (
            _pod("  namespace: [x]\n"),
            "manifest.error.not_string",
            1,
            5,
            14,
            "`metadata.namespace` must be a string",
        ),
        ("", "manifest.error.empty", None, None, None, "empty"),
        ("---\n# comment\n---\n", "manifest.error.empty", None, None, None, "empty"),
        # JSON
        (
            '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a",\n  "name": "b"}}',
            "manifest.error.duplicate_key",
            1,
            3,
            3,
            'duplicate key "name"',
        ),
        ('{"apiVersion": "v1", "x": NaN}', "manifest.error.not_json_number", 1, 1, None, "NaN"),
        ('{"apiVersion": "v1",\n "kind": }', "manifest.error.json_syntax", 1, 2, 10, "Expecting value"),
        (
            '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}\n{"kind": Pod}',
            "manifest.error.json_syntax",
            2,
            2,
            10,
            "JSON syntax error",
        ),
        ("[1, 2]", "manifest.error.not_mapping", 1, 1, None, "a list"),
        (
            '{"kind": "Pod", "metadata": {"name": "a"}}',
            "manifest.error.missing_field",
            1,
            1,
            None,
            "apiVersion",
        ),
    ],
)
def test_refusals_name_the_document_line_and_column(
    text: str, key: str, document: int | None, line: int | None, column: int | None, fragment: str
) -> None:
    err = _refused(text)
    assert err.key == key, err.message
    assert (err.document, err.line, err.column) == (document, line, column), err.message
    assert fragment in err.message, err.message
    if document is not None and line is not None and column is not None:
        assert err.message.startswith(f"Document {document}, line {line}, column {column}: ")
    elif document is not None and line is not None:
        assert err.message.startswith(f"Document {document}, line {line}: ")
    assert "Pod (v1)" in err.hint


def test_refusals_in_chinese() -> None:
    err = _refused(_pod("  name: b\n"), locale="zh_CN")
    assert (
        err.message
        == '第 1 个文档，第 5 行，第 3 列：键 "name" 重复（第一次出现在第 4 行）：每个键只能出现一次'
    )
    assert "podbot 可以创建" in err.hint


def test_invalid_unicode_is_refused() -> None:
    assert _refused("apiVersion: v1\nkind: \ud800\n").key == "manifest.error.encoding"


def test_positions_count_characters_not_bytes() -> None:
    err = _refused(
        "# 中文注释\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
        "  annotations: {说明: 你好, 说明: 再见}\n"
    )
    assert (err.line, err.column) == (6, 25)
    err = _refused("a: 中文中文\nb: \x07\n")
    assert (err.key, err.line, err.column) == ("manifest.error.character", 2, 4)
    [first, second] = load_manifests(
        "# 中文\n---\n" + _pod("  annotations: {x: 中文}\n") + "---\n" + _pod(name="b")
    )
    assert first.source.endswith("{x: 中文}\n")
    assert second.source.startswith("apiVersion: v1")


@pytest.mark.parametrize("loader", ["pure", "libyaml"])
def test_both_yaml_readers_agree(loader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from podbot.core import kubeyaml

    if loader == "pure":
        monkeypatch.setattr(kubeyaml, "Loader", kubeyaml._PureLoader)
    elif not hasattr(kubeyaml, "_FastLoader"):
        pytest.skip("PyYAML was built without libyaml")
    [pod] = load_manifests(SEED_POD + "---\n")
    assert json.loads(pod.body)["spec"]["imagePullSecrets"] == [{"name": "myregistrykey"}]
    err = _refused(_pod("  name: b\n"))
    assert (err.document, err.line, err.column) == (1, 5, 3)
    assert _refused("a: &a [1, *a]\n").key == "manifest.error.recursive_alias"
    assert _refused("a: " + "[" * 150 + "]" * 150 + "\n").key == "manifest.error.too_deep"
