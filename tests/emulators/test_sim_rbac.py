"""Authentication, impersonation and authorization: the policy file, stored RBAC objects, reviews."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from podbot.sim.auth.rbac import Attributes, Authorizer, Policy, PolicyError, UserInfo
from podbot.sim.cluster import SimCluster
from tests.support.sim import Api

POLICY = {
    "users": {
        "bob": {"token": "bob-token", "groups": ["operators"]},
        "carol": {"token": "carol-token"},
    },
    "rules": [
        {
            "subjects": ["group:operators"],
            "verbs": ["impersonate"],
            "apiGroups": [""],
            "resources": ["users"],
            "resourceNames": ["alice"],
        },
        {
            "subjects": ["group:operators"],
            "verbs": ["impersonate"],
            "apiGroups": [""],
            "resources": ["groups"],
            "resourceNames": ["developers"],
        },
        {
            "subjects": ["user:bob"],
            "verbs": ["impersonate"],
            "resources": ["serviceaccounts"],
            "namespaces": ["bots"],
        },
        {
            "subjects": ["group:developers"],
            "verbs": ["get", "list", "watch"],
            "apiGroups": [""],
            "resources": ["pods", "pods/log"],
            "namespaces": ["dev"],
        },
        {
            "subjects": ["user:carol"],
            "verbs": ["*"],
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["mine"],
            "namespaces": ["default"],
        },
        {
            "subjects": ["group:system:authenticated"],
            "verbs": ["create"],
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
    ],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    state = tmp_path_factory.mktemp("rbac")
    policy = state / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    with SimCluster(speed=0, rbac_policy=policy, state_dir=state / "sim") as sim:
        yield sim


def as_user(cluster: SimCluster, token: str) -> Api:
    return Api(cluster.url, cluster.ca_pem, token)


def test_token_users_from_the_policy(cluster: SimCluster) -> None:
    carol = as_user(cluster, "carol-token")
    admin = as_user(cluster, cluster.admin_token)
    admin.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "mine"}})
    admin.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "theirs"}})
    assert carol.json("GET", "/api/v1/namespaces/default/configmaps/mine")[0] == 200
    status, body = carol.json("GET", "/api/v1/namespaces/default/configmaps/theirs")
    assert status == 403 and body["message"] == (
        'configmaps "theirs" is forbidden: User "carol" cannot get resource "configmaps" in API group "" '
        'in the namespace "default"'
    )
    status, body = carol.json("GET", "/api/v1/nodes")
    assert status == 403 and body["message"] == (
        'nodes is forbidden: User "carol" cannot list resource "nodes" in API group "" at the cluster scope'
    )


def test_the_impersonator_must_be_allowed_to_impersonate(cluster: SimCluster) -> None:
    bob = as_user(cluster, "bob-token")
    carol = as_user(cluster, "carol-token")
    status, body = carol.json("GET", "/api/v1/namespaces/dev/pods", headers=[("Impersonate-User", "alice")])
    assert status == 403 and body["message"] == (
        'users "alice" is forbidden: User "carol" cannot impersonate resource "users" in API group "" '
        "at the cluster scope"
    )
    headers = [("Impersonate-User", "alice"), ("Impersonate-Group", "developers")]
    assert bob.json("GET", "/api/v1/namespaces/dev/pods", headers=headers)[0] == 200
    status, body = bob.json("GET", "/api/v1/namespaces/prod/pods", headers=headers)
    assert status == 403 and 'User "alice" cannot list resource "pods"' in body["message"]
    status, body = bob.json(
        "GET",
        "/api/v1/namespaces/dev/pods",
        headers=[("Impersonate-User", "alice"), ("Impersonate-Group", "admins")],
    )
    assert status == 403 and body["message"] == (
        'groups "admins" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" '
        "at the cluster scope"
    )
    status, body = bob.json(
        "GET", "/api/v1/namespaces/dev/pods", headers=[("Impersonate-Group", "developers")]
    )
    assert status == 500 and "without impersonating a user" in body["message"]


def test_service_account_impersonation_is_namespaced(cluster: SimCluster) -> None:
    bob = as_user(cluster, "bob-token")
    status, _ = bob.json(
        "GET", "/api/v1/namespaces/bots/pods", headers=[("Impersonate-User", "system:serviceaccount:bots:ci")]
    )
    assert status == 403  # allowed to impersonate, but the SA itself may not list pods
    status, body = bob.json(
        "GET", "/api/v1/pods", headers=[("Impersonate-User", "system:serviceaccount:other:ci")]
    )
    assert status == 403 and body["message"] == (
        'serviceaccounts "ci" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" '
        'in API group "" in the namespace "other"'
    )


def test_stored_rbac_objects_grant_like_the_real_authorizer(cluster: SimCluster) -> None:
    admin = as_user(cluster, cluster.admin_token)
    sa = [("Impersonate-User", "system:serviceaccount:bots:ci")]
    admin.json("POST", "/api/v1/namespaces", {"metadata": {"name": "bots"}})
    assert admin.json("GET", "/api/v1/namespaces/bots/pods", headers=sa)[0] == 403
    admin.json(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
    )
    status, _ = admin.json(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/bots/rolebindings",
        {
            "metadata": {"name": "ci-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "bots"}],
        },
    )
    assert status == 201
    assert admin.json("GET", "/api/v1/namespaces/bots/pods", headers=sa)[0] == 200
    assert (
        admin.json("GET", "/api/v1/namespaces/default/pods", headers=sa)[0] == 403
    )  # a RoleBinding is per namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "system:serviceaccount:bots:ci",
            "groups": ["system:serviceaccounts"],
            "resourceAttributes": {"namespace": "bots", "verb": "list", "resource": "pods"},
        },
    }
    status, answer = admin.json("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    assert status == 201 and answer["status"]["allowed"] is True
    assert answer["status"]["reason"] == (
        'RBAC: allowed by RoleBinding "ci-reads" in namespace "bots" of ClusterRole "pod-reader" '
        'to User "system:serviceaccount:bots:ci"'
    )


def test_self_subject_reviews(cluster: SimCluster) -> None:
    carol = as_user(cluster, "carol-token")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": "default",
                "verb": "update",
                "resource": "configmaps",
                "name": "mine",
            }
        },
    }
    status, answer = carol.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    assert status == 201 and answer["status"]["allowed"] is True
    review["spec"]["resourceAttributes"]["name"] = "other"
    assert (
        carol.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)[1]["status"][
            "allowed"
        ]
        is False
    )
    empty = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}
    status, body = carol.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", empty)
    assert (
        status == 422
        and "exactly one of nonResourceAttributes or resourceAttributes must be specified" in body["message"]
    )
    rules = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": "default"},
    }
    status, answer = carol.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", rules)
    assert status == 201
    assert {
        "verbs": ["*"],
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["mine"],
    } in answer["status"]["resourceRules"]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ([], "the top level must be a mapping"),
        ({"rulez": []}, "unknown top-level keys ['rulez']"),
        ({"users": {"x": {"groups": ["g"]}}}, "users.x: needs a non-empty 'token'"),
        (
            {"rules": [{"subjects": ["alice"], "verbs": ["get"]}]},
            "must be user:NAME, group:NAME or serviceaccount:NS:NAME",
        ),
        ({"rules": [{"subjects": ["user:a"]}]}, "'subjects' and 'verbs' are required"),
        (
            {"rules": [{"subjects": ["user:a"], "verbs": "get", "resource": ["pods"]}]},
            "unknown keys ['resource']",
        ),
        ({"rules": [{"subjects": ["user:a"], "verbs": [1]}]}, "expected a list of strings"),
    ],
)
def test_policy_errors_are_specific(policy: object, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.parse(policy, "p.yaml")
    assert message in str(info.value) and str(info.value).startswith("p.yaml")


def test_default_policy_and_rule_matching() -> None:
    policy = Policy.load(None)
    authorizer = Authorizer(policy)
    dev = UserInfo("alice", ("developers", "system:authenticated"))
    assert authorizer.authorize(Attributes(dev, "get", "", "pods", "log", "prod", "x")).allowed
    assert authorizer.authorize(Attributes(dev, "delete", "", "pods", "", "dev", "x")).allowed
    assert not authorizer.authorize(Attributes(dev, "delete", "", "pods", "", "prod", "x")).allowed
    masters = UserInfo("root", ("system:masters",))
    assert authorizer.authorize(Attributes(masters, "impersonate", "", "users", name="anyone")).allowed
    nobody = UserInfo("nobody", ("system:authenticated",))
    assert authorizer.authorize(Attributes(nobody, "get", path="/version")).allowed
    assert not authorizer.authorize(Attributes(nobody, "list", "", "pods", namespace="default")).allowed


def test_policy_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.load(tmp_path / "missing.yaml")
    assert "cannot read RBAC policy" in str(info.value)
