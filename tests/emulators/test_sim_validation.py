"""Validation messages and Status shapes, compared with what a real kube-apiserver sends."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from podbot.sim.objects import admission, validation
from podbot.sim.objects.apierrors import (
    FieldError,
    aggregate,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    status_already_exists,
    status_bad_request,
    status_body,
    status_conflict,
    status_forbidden,
    status_invalid,
    status_not_found,
    status_path_not_found,
    too_long,
)

RESTART_UNSUPPORTED = (
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
)


@pytest.mark.parametrize(
    ("error", "text", "reason"),
    [
        (required("spec.containers"), "spec.containers: Required value", "FieldValueRequired"),
        (
            required("metadata.name", "name or generateName is required"),
            "metadata.name: Required value: name or generateName is required",
            "FieldValueRequired",
        ),
        (
            invalid("metadata.name", "Bad", "oops"),
            'metadata.name: Invalid value: "Bad": oops',
            "FieldValueInvalid",
        ),
        (
            invalid("spec.replicas", -1, "must be greater than or equal to 0"),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "FieldValueInvalid",
        ),
        (invalid("x", None, "d"), "x: Invalid value: null: d", "FieldValueInvalid"),
        (
            not_supported("spec.restartPolicy", "Sometimes", ("Always", "OnFailure", "Never")),
            RESTART_UNSUPPORTED,
            "FieldValueNotSupported",
        ),
        (
            duplicate("spec.containers[1].name", "app"),
            'spec.containers[1].name: Duplicate value: "app"',
            "FieldValueDuplicate",
        ),
        (
            forbidden("metadata.namespace", "not allowed on this type"),
            "metadata.namespace: Forbidden: not allowed on this type",
            "FieldValueForbidden",
        ),
        (
            too_long("metadata.annotations", 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            "FieldValueTooLong",
        ),
    ],
)
def test_field_error_text_and_cause(error: FieldError, text: str, reason: str) -> None:
    assert str(error) == text
    assert error.cause() == {"reason": reason, "message": text.split(": ", 1)[1], "field": error.field}


def test_aggregate_is_bare_for_one_and_bracketed_for_many() -> None:
    assert aggregate([required("a")]) == "a: Required value"
    assert (
        aggregate([required("a"), required("b"), required("a")]) == "[a: Required value, b: Required value]"
    )


def test_invalid_status_shape() -> None:
    error = status_invalid("Pod", "x", [required("spec.containers[0].image")])
    assert error.code == 422
    assert status_body(error) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Pod "x" is invalid: spec.containers[0].image: Required value',
        "reason": "Invalid",
        "details": {
            "name": "x",
            "kind": "Pod",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": "spec.containers[0].image",
                }
            ],
        },
        "code": 422,
    }
    grouped = status_invalid(
        "Deployment", "d", [required("spec.selector"), required("spec.template")], "apps"
    )
    assert (
        grouped.message
        == 'Deployment.apps "d" is invalid: [spec.selector: Required value, spec.template: Required value]'
    )
    assert grouped.details["group"] == "apps"


@pytest.mark.parametrize(
    ("error", "code", "reason", "message", "details"),
    [
        (status_not_found("pods", "x"), 404, "NotFound", 'pods "x" not found', {"name": "x", "kind": "pods"}),
        (
            status_not_found("deployments", "d", "apps"),
            404,
            "NotFound",
            'deployments.apps "d" not found',
            {"name": "d", "group": "apps", "kind": "deployments"},
        ),
        (
            status_already_exists("pods", "nginx"),
            409,
            "AlreadyExists",
            'pods "nginx" already exists',
            {"name": "nginx", "kind": "pods"},
        ),
        (
            status_conflict(
                "pods", "p", "Precondition failed: UID in precondition: a, UID in object meta: b"
            ),
            409,
            "Conflict",
            'Operation cannot be fulfilled on pods "p": Precondition failed: UID in precondition: a, '
            "UID in object meta: b",
            {"name": "p", "kind": "pods"},
        ),
        (
            status_forbidden(
                "pods", "", 'User "u" cannot list resource "pods" in API group "" at the cluster scope'
            ),
            403,
            "Forbidden",
            'pods is forbidden: User "u" cannot list resource "pods" in API group "" at the cluster scope',
            {"kind": "pods"},
        ),
        (status_path_not_found(), 404, "NotFound", "the server could not find the requested resource", {}),
    ],
)
def test_status_errors(error: Any, code: int, reason: str, message: str, details: dict[str, Any]) -> None:
    body = status_body(error)
    assert (body["code"], body["reason"], body["message"]) == (code, reason, message)
    assert body["details"] == details
    assert list(body) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]


def test_bad_request_has_no_details() -> None:
    body = status_body(status_bad_request("field label not supported: x"))
    assert "details" not in body and body["code"] == 400 and body["reason"] == "BadRequest"


# --- names and metadata ----------------------------------------------------------------------------
def meta_errors(meta: dict[str, Any], namespaced: bool = True) -> list[str]:
    return [str(e) for e in validation.object_meta_errors(meta, namespaced, validation.dns_subdomain_errors)]


def test_object_meta_errors() -> None:
    assert meta_errors({"name": "ok.name-1", "namespace": "default"}) == []
    assert meta_errors({"namespace": "default"}) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    assert meta_errors({"name": "n"}) == ["metadata.namespace: Required value"]
    assert meta_errors({"name": "n", "namespace": "x"}, namespaced=False) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    [label_error] = meta_errors({"name": "n", "namespace": "d", "labels": {"bad key": "v"}})
    assert label_error.startswith('metadata.labels: Invalid value: "bad key": name part must consist of')
    [value_error] = meta_errors({"name": "n", "namespace": "d", "labels": {"k": "-v"}})
    assert value_error.startswith(
        'metadata.labels: Invalid value: "-v": a valid label must be an empty string'
    )


def test_name_validators_match_apimachinery_messages() -> None:
    assert validation.dns_subdomain_errors("a.b-c") == []
    assert validation.dns_subdomain_errors("A")[0].startswith(
        "a lowercase RFC 1123 subdomain must consist of"
    )
    assert validation.dns_label_errors("a.b")[0].startswith("a lowercase RFC 1123 label must consist of")
    assert validation.dns_label_errors("x" * 64)[0] == "must be no more than 63 characters"
    assert validation.dns1035_label_errors("1abc")[0].startswith("a DNS-1035 label must consist of")
    assert validation.path_segment_errors("a/b") == ["may not contain '/'"]
    assert validation.path_segment_errors("..") == ["may not be '..'"]
    assert validation.config_key_errors("ok_key.1") == []
    assert validation.config_key_errors("bad key")[0].startswith("a valid config key must consist of")


# --- pods ------------------------------------------------------------------------------------------
def spec_errors(spec: dict[str, Any]) -> list[str]:
    return [str(e) for e in validation.pod_spec_errors(spec)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"containers": []}, ["spec.containers: Required value"]),
        ({"containers": [{"name": "a"}]}, ["spec.containers[0].image: Required value"]),
        ({"containers": [{"image": "x"}]}, ["spec.containers[0].name: Required value"]),
        (
            {"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]},
            ['spec.containers[1].name: Duplicate value: "a"'],
        ),
        (
            {"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]},
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
                "must be between 1 and 65535, inclusive"
            ],
        ),
        (
            {"containers": [{"name": "a", "image": "x"}], "restartPolicy": "Sometimes"},
            [RESTART_UNSUPPORTED],
        ),
        (
            {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Maybe"}]},
            [
                'spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": '
                'supported values: "Always", "IfNotPresent", "Never"'
            ],
        ),
        (
            {"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]},
            ['spec.containers[0].volumeMounts[0].name: Not found: "v"'],
        ),
        (
            {"containers": [{"name": "a", "image": "x", "restartPolicy": "Always"}]},
            ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"],
        ),
        (
            {
                "initContainers": [{"name": "s", "image": "x", "restartPolicy": "Always"}],
                "containers": [{"name": "a", "image": "x"}],
            },
            [],
        ),
    ],
)
def test_pod_spec_validation(spec: dict[str, Any], expected: list[str]) -> None:
    assert spec_errors(spec) == expected


def test_pod_update_allows_images_and_added_tolerations_only() -> None:
    old = {
        "containers": [{"name": "a", "image": "nginx:1.16"}],
        "tolerations": [{"key": "k"}],
        "nodeName": "n1",
    }
    image = {**old, "containers": [{"name": "a", "image": "nginx:1.17"}]}
    assert validation.pod_update_errors(image, old) == []
    more = {**old, "tolerations": [{"key": "k"}, {"key": "j"}]}
    assert validation.pod_update_errors(more, old) == []
    moved = {**old, "nodeName": "n2"}
    [error] = validation.pod_update_errors(moved, old)
    assert str(error).startswith(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)\n  core.PodSpec{\n"
    )
    assert '- \tNodeName: "n1",' in str(error) and '+ \tNodeName: "n2",' in str(error)


# --- the other kinds ---------------------------------------------------------------------------------
def docker_secret(data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": data}


def test_registry_secret_validation_never_echoes_credentials() -> None:
    assert [str(e) for e in admission.validate_secret(docker_secret({}))] == [
        "data[.dockerconfigjson]: Required value"
    ]
    bad = base64.b64encode(b'{"auths": {"r": {"password": "hunter2"').decode()
    [error] = admission.validate_secret(docker_secret({".dockerconfigjson": bad}))
    assert str(error).startswith('data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": ')
    assert "hunter2" not in str(error)
    good = base64.b64encode(json.dumps({"auths": {}}).encode()).decode()
    assert admission.validate_secret(docker_secret({".dockerconfigjson": good})) == []


def test_secret_type_and_immutable_configmap_are_immutable() -> None:
    old = {"metadata": {"name": "s"}, "type": "Opaque", "data": {}}
    new = {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert 'type: Invalid value: "kubernetes.io/tls": field is immutable' in [
        str(e) for e in admission.validate_secret_update(new, old)
    ]
    cm_old = {"metadata": {"name": "c"}, "immutable": True, "data": {"a": "1"}}
    cm_new = {"metadata": {"name": "c"}, "immutable": True, "data": {"a": "2"}}
    assert [str(e) for e in admission.validate_configmap_update(cm_new, cm_old)] == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]


def test_deployment_selector_must_match_template_labels() -> None:
    deploy = {
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"labels": {"app": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    errors = [str(e) for e in admission.validate_deployment(deploy)]
    assert errors == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: '
        "`selector` does not match template `labels`"
    ]


def test_service_and_rolebinding_rules() -> None:
    assert [str(e) for e in admission.validate_service({"metadata": {"name": "s"}, "spec": {}})] == [
        "spec.ports: Required value"
    ]
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "u"}],
    }
    assert admission.validate_rolebinding(binding) == []
    changed = {**binding, "roleRef": {**binding["roleRef"], "name": "other"}}
    assert any(
        "cannot change roleRef" in str(e) for e in admission.validate_rolebinding_update(changed, binding)
    )


def test_no_new_finalizers_on_an_object_being_deleted() -> None:
    old = {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["a"]}
    assert validation.object_meta_update_errors({**old, "finalizers": []}, old) == []
    [error] = validation.object_meta_update_errors({**old, "finalizers": ["a", "b"]}, old)
    assert str(error) == (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
        'found new finalizers []string{"b"}'
    )
