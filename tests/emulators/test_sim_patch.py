"""PATCH semantics: JSON merge patch, JSON patch and strategic merge patch (with kubectl's directives)."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.sim.objects.patch import PatchError, json_patch, merge_patch, strategic_merge

POD: dict[str, Any] = {
    "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.16",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80}],
            },
            {"name": "side", "image": "busybox"},
        ],
        "tolerations": [{"key": "t1"}],
    },
}


def test_merge_patch_sets_deletes_and_replaces_lists() -> None:
    out = merge_patch(
        POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"tolerations": [{"key": "t2"}]}}
    )
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["tolerations"] == [{"key": "t2"}]
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}  # the input is not changed


def test_json_patch_operations() -> None:
    out = json_patch(
        POD,
        [
            {"op": "add", "path": "/metadata/labels/c", "value": "3"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.17"},
            {"op": "add", "path": "/spec/tolerations/-", "value": {"key": "t2"}},
            {"op": "copy", "from": "/metadata/labels/b", "path": "/metadata/labels/d"},
            {"op": "move", "from": "/metadata/labels/d", "path": "/metadata/labels/e"},
            {"op": "test", "path": "/metadata/name", "value": "p"},
        ],
    )
    assert out["metadata"]["labels"] == {"b": "2", "c": "3", "e": "2"}
    assert out["spec"]["containers"][0]["image"] == "nginx:1.17"
    assert out["spec"]["tolerations"] == [{"key": "t1"}, {"key": "t2"}]


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [{"op": "replace", "path": "/spec/missing", "value": 1}],
            "replace operation does not apply: doc is missing key: /spec/missing: missing value",
        ),
        (
            [{"op": "test", "path": "/metadata/name", "value": "q"}],
            "testing value /metadata/name failed: test failed",
        ),
        (
            [{"op": "remove", "path": "/nope/x"}],
            'remove operation does not apply: doc is missing path: "/nope/x": missing value',
        ),
    ],
)
def test_json_patch_errors(ops: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(POD, ops)
    assert str(info.value) == message and info.value.code == 422


def test_strategic_merge_merges_containers_by_name_and_env_by_name() -> None:
    out = strategic_merge(
        POD,
        {
            "spec": {
                "containers": [{"name": "app", "image": "nginx:1.17", "env": [{"name": "C", "value": "3"}]}]
            }
        },
        "V1Pod",
    )
    app, side = out["spec"]["containers"]
    assert app["image"] == "nginx:1.17" and side == {"name": "side", "image": "busybox"}
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
        {"name": "C", "value": "3"},
    ]
    assert app["ports"] == [{"containerPort": 80}]


def test_strategic_merge_directives_kubectl_apply_sends() -> None:
    patch = {
        "metadata": {"labels": {"a": None}, "finalizers": ["y"]},
        "spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
            "containers": [
                {
                    "name": "app",
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"name": "B", "$patch": "delete"}],
                }
            ],
            "tolerations": [{"key": "t2"}],  # no merge key: replaced
        },
    }
    out = strategic_merge(POD, patch, "V1Pod")
    assert out["metadata"]["labels"] == {"b": "2"}
    assert out["metadata"]["finalizers"] == ["x", "y"]  # a merging list of scalars is a union
    assert [c["name"] for c in out["spec"]["containers"]] == ["side", "app"]
    assert out["spec"]["containers"][1]["env"] == [{"name": "A", "value": "1"}]
    assert out["spec"]["tolerations"] == [{"key": "t2"}]


def test_strategic_merge_replace_and_retain_keys() -> None:
    out = strategic_merge(POD, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}}, "V1Pod")
    assert out["metadata"]["labels"] == {"z": "9"}
    deploy = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}}}
    out = strategic_merge(
        deploy, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "V1Deployment"
    )
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    out = strategic_merge(
        POD, {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}, "V1Pod"
    )
    assert out["spec"]["containers"] == [{"name": "only", "image": "x"}]
    out = strategic_merge(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}, "V1Pod")
    assert out["metadata"]["finalizers"] == []


def test_strategic_merge_element_without_merge_key_is_a_400() -> None:
    with pytest.raises(PatchError) as info:
        strategic_merge(POD, {"spec": {"containers": [{"image": "x"}]}}, "V1Pod")
    assert info.value.code == 400 and "does not contain declared merge key: name" in str(info.value)
