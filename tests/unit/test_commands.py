"""Table-driven tests of ``podbot.commands.parse``: every verb, every flag, the seed's command lines."""

from __future__ import annotations

import re

import pytest

from podbot.commands import parse
from podbot.core.errors import UsageError
from podbot.core.manifests import ManifestError
from podbot.core.model import (
    CreateFromManifest,
    CreateRegistrySecret,
    DeletePod,
    DeleteSecret,
    DescribePod,
    DigestKind,
    DryRun,
    GetPods,
    ListApprovals,
    ListStaticPods,
    ListSubscriptions,
    OutputFormat,
    PodLogs,
    Request,
    RestartPolicy,
    RunPod,
    Secret,
    SetAlerts,
    ShowAudit,
    ShowHelp,
    Subscribe,
    Unsubscribe,
    Where,
)
from tests.support.seed import SEED_POD

NS = Where(namespace="prod")
NOTES = ("commands.note.generator_ignored", "commands.note.replicas_ignored")

# The seed notes' exact command lines (000_e9307d682c1e007e.txt), and what they must become.
SEED = [
    (
        "kubectl run nginx --image=nginx:1.16 --replicas=3 --generator=run-pod/v1",
        RunPod(name="nginx", image="nginx:1.16", notes=NOTES),
    ),
    (
        "kubectl create secret docker-registry myregistrykey  --docker-server=10.0.0.130:5000 "
        "--docker-username=test --docker-password=123456",
        CreateRegistrySecret(
            name="myregistrykey", server="10.0.0.130:5000", username="test", password=Secret("123456")
        ),
    ),
    ("kubectl get pods", GetPods()),
    ("kubectl get pod pod-name", GetPods(names=("pod-name",))),
    ("kubectl describe pod pod-name", DescribePod(name="pod-name")),
    ("kubectl delete pod pod-name", DeletePod(name="pod-name")),
    ("kubectl delete secrets myregistrykey", DeleteSecret(name="myregistrykey")),
    ("kubectl create\n" + SEED_POD, CreateFromManifest(manifest=SEED_POD)),
    (
        # The seed writes the manifest as a shell heredoc; pasted as is, it is unwrapped.
        "create\ncat >nginx-pod.yaml<<EOF\n" + SEED_POD + "EOF    \n",
        CreateFromManifest(manifest=SEED_POD),
    ),
]

VALID: list[tuple[str, Request]] = [
    # --- run
    ("run nginx --image=nginx:1.16", RunPod(name="nginx", image="nginx:1.16")),
    ("run nginx --image nginx:1.16 -n prod", RunPod(name="nginx", image="nginx:1.16", where=NS)),
    ("run --image=nginx nginx", RunPod(name="nginx", image="nginx")),
    ("run nginx --image=nginx --port=80", RunPod(name="nginx", image="nginx", port=80)),
    ("run nginx --image=nginx --port 8080", RunPod(name="nginx", image="nginx", port=8080)),
    ("run web --image=nginx --port=80 --port=80", RunPod(name="web", image="nginx", port=80)),
    (
        "run web --image=nginx --env=A=1 --env B=x=y --env C=",
        RunPod(name="web", image="nginx", env=(("A", "1"), ("B", "x=y"), ("C", ""))),
    ),
    (
        "run web --image=nginx --labels=app=web,tier=front -l env=prod",
        RunPod(name="web", image="nginx", labels=(("app", "web"), ("tier", "front"), ("env", "prod"))),
    ),
    ("run web --image=nginx --labels=", RunPod(name="web", image="nginx", labels=None)),
    (
        "run web --image=nginx --annotations=example.com/owner=team-a --annotations note=a=b",
        RunPod(name="web", image="nginx", annotations=(("example.com/owner", "team-a"), ("note", "a=b"))),
    ),
    (
        "run job --image=busybox --restart=Never",
        RunPod(name="job", image="busybox", restart=RestartPolicy.NEVER),
    ),
    (
        "run job --image=busybox --restart OnFailure",
        RunPod(name="job", image="busybox", restart=RestartPolicy.ON_FAILURE),
    ),
    (
        "run web --image=nginx --image-pull-policy=IfNotPresent",
        RunPod(name="web", image="nginx", image_pull_policy="IfNotPresent"),
    ),
    (
        "run web --image=nginx --image-pull-policy Never",
        RunPod(name="web", image="nginx", image_pull_policy="Never"),
    ),
    (
        "run box --image=busybox --command -- sleep 3600",
        RunPod(name="box", image="busybox", command=True, args=("sleep", "3600")),
    ),
    (
        "run box --image=busybox -- sh -c 'echo hi; sleep 1'",
        RunPod(name="box", image="busybox", args=("sh", "-c", "echo hi; sleep 1")),
    ),
    ("run box --image=busybox arg1 arg2", RunPod(name="box", image="busybox", args=("arg1", "arg2"))),
    ("run web --image=nginx --dry-run=server", RunPod(name="web", image="nginx", dry_run=DryRun.SERVER)),
    ("run web --image=nginx --dry-run=client", RunPod(name="web", image="nginx", dry_run=DryRun.CLIENT)),
    ("run web --image=nginx --dry-run", RunPod(name="web", image="nginx", dry_run=DryRun.CLIENT)),
    ("run web --image=nginx --dry-run=none", RunPod(name="web", image="nginx", dry_run=DryRun.NONE)),
    (
        'run web --image=nginx --overrides=\'{"spec":{"nodeName":"k8s-node2"}}\'',
        RunPod(name="web", image="nginx", overrides='{"spec":{"nodeName":"k8s-node2"}}'),
    ),
    (
        "run web --image=nginx --context=prod-eu",
        RunPod(name="web", image="nginx", where=Where(context="prod-eu")),
    ),
    (
        "run web --image=nginx --replicas=1",
        RunPod(name="web", image="nginx", notes=("commands.note.replicas_ignored",)),
    ),
    (
        "run web --image=nginx --generator=run-pod/v1",
        RunPod(name="web", image="nginx", notes=("commands.note.generator_ignored",)),
    ),
    (
        "run db --image=10.0.0.130:5000/library/postgres:16@sha256:" + "a" * 64,
        RunPod(name="db", image="10.0.0.130:5000/library/postgres:16@sha256:" + "a" * 64),
    ),
    ("run web --image=[::1]:5000/web:v1", RunPod(name="web", image="[::1]:5000/web:v1")),
    (
        "run web --image=Registry.Example.com/team/web",
        RunPod(name="web", image="Registry.Example.com/team/web"),
    ),
    # --- create
    ("create", CreateFromManifest(manifest=None)),
    ("create -f -", CreateFromManifest(manifest=None)),
    ("create -n prod --dry-run=server", CreateFromManifest(manifest=None, where=NS, dry_run=DryRun.SERVER)),
    ("kubectl -n prod create", CreateFromManifest(manifest=None, where=NS)),
    ("create -f -\n" + SEED_POD, CreateFromManifest(manifest=SEED_POD)),
    ("create ```yaml\n" + SEED_POD + "```", CreateFromManifest(manifest=SEED_POD)),
    ("create\n```\n" + SEED_POD + "```\n", CreateFromManifest(manifest=SEED_POD)),
    (
        "kubectl create -f - --context=lab\n" + SEED_POD,
        CreateFromManifest(SEED_POD, Where(context="lab")),
    ),
    (
        "create -n default\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n",
        CreateFromManifest(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\n", Where(namespace="default")
        ),
    ),
    (
        'create\n{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"}}',
        CreateFromManifest('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"}}\n'),
    ),
    # --- secret docker-registry (both spellings)
    (
        "secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 --docker-username=test",
        CreateRegistrySecret(name="myregistrykey", server="10.0.0.130:5000", username="test"),
    ),
    (
        "secret docker-registry key --docker-username test --docker-password s3cr3t --docker-email=a@b.c "
        "-n prod --dry-run=server",
        CreateRegistrySecret(
            name="key",
            server="https://index.docker.io/v1/",
            username="test",
            password=Secret("s3cr3t"),
            email="a@b.c",
            where=NS,
            dry_run=DryRun.SERVER,
        ),
    ),
    (
        "create -n prod secret docker-registry key --docker-server=https://registry.example.com:8443/v2/ "
        "--docker-username=u",
        CreateRegistrySecret(
            name="key", server="https://registry.example.com:8443/v2/", username="u", where=NS
        ),
    ),
    # --- get
    ("get", GetPods()),
    ("get pods", GetPods()),
    ("get po", GetPods()),
    ("get pod nginx web", GetPods(names=("nginx", "web"))),
    ("get pod/nginx pods/web", GetPods(names=("nginx", "web"))),
    ("get nginx", GetPods(names=("nginx",))),
    ("get pods nginx nginx", GetPods(names=("nginx",))),
    ("get pods -n kube-system", GetPods(where=Where(namespace="kube-system"))),
    ("get pods --namespace=kube-system", GetPods(where=Where(namespace="kube-system"))),
    ("get pods -nkube-system", GetPods(where=Where(namespace="kube-system"))),
    ("get pods -n=kube-system", GetPods(where=Where(namespace="kube-system"))),
    ("get pods -A", GetPods(all_namespaces=True)),
    ("get pods --all-namespaces", GetPods(all_namespaces=True)),
    ("get pods -A=false", GetPods()),
    ("get pods -l app=web", GetPods(label_selector="app=web")),
    ("get pods -l 'env in (prod, qa),!canary'", GetPods(label_selector="env in (prod, qa),!canary")),
    ("get pods --selector=tier!=db", GetPods(label_selector="tier!=db")),
    ("get pods --field-selector=status.phase=Running", GetPods(field_selector="status.phase=Running")),
    (
        "get pods --field-selector spec.nodeName==k8s-node2,metadata.name!=x",
        GetPods(field_selector="spec.nodeName==k8s-node2,metadata.name!=x"),
    ),
    ("get pods -o wide", GetPods(output=OutputFormat.WIDE)),
    ("get pods -owide", GetPods(output=OutputFormat.WIDE)),
    ("get pods -o=yaml", GetPods(output=OutputFormat.YAML)),
    ("get pods --output json", GetPods(output=OutputFormat.JSON)),
    ("get pods -o name", GetPods(output=OutputFormat.NAME)),
    ("get pods -Ao wide", GetPods(all_namespaces=True, output=OutputFormat.WIDE)),
    ("get pods --context kind-kind", GetPods(where=Where(context="kind-kind"))),
    ("GET PODS", GetPods()),
    ("kubectl -n prod get pods", GetPods(where=NS)),
    (
        "kubectl --context=c1 -A get pods -o wide",
        GetPods(where=Where(context="c1"), all_namespaces=True, output=OutputFormat.WIDE),
    ),
    ("-n prod logs nginx", PodLogs(name="nginx", where=NS)),
    # --- describe
    ("describe pod nginx", DescribePod(name="nginx")),
    ("describe pods nginx -n prod", DescribePod(name="nginx", where=NS)),
    ("describe po/nginx", DescribePod(name="nginx")),
    ("describe pod/nginx --context=c1", DescribePod(name="nginx", where=Where(context="c1"))),
    ("describe nginx", DescribePod(name="nginx")),
    # --- logs
    ("logs nginx", PodLogs(name="nginx")),
    ("logs pod/nginx", PodLogs(name="nginx")),
    ("logs pod nginx", PodLogs(name="nginx")),
    ("logs nginx web", PodLogs(name="nginx", container="web")),
    ("logs nginx -c init-db", PodLogs(name="nginx", container="init-db")),
    ("logs nginx --container=init-db", PodLogs(name="nginx", container="init-db")),
    ("logs nginx -p", PodLogs(name="nginx", previous=True)),
    ("logs nginx --previous", PodLogs(name="nginx", previous=True)),
    ("logs nginx --previous=false", PodLogs(name="nginx")),
    ("logs nginx --tail=20", PodLogs(name="nginx", tail=20)),
    ("logs nginx --tail 0", PodLogs(name="nginx", tail=0)),
    ("logs nginx --tail=-1", PodLogs(name="nginx")),
    ("logs nginx --since=5m", PodLogs(name="nginx", since_seconds=300)),
    ("logs nginx --since=1h30m", PodLogs(name="nginx", since_seconds=5400)),
    ("logs nginx --since 30s", PodLogs(name="nginx", since_seconds=30)),
    ("logs nginx --since=1.5h", PodLogs(name="nginx", since_seconds=5400)),
    ("logs nginx -pc web -n prod", PodLogs(name="nginx", container="web", previous=True, where=NS)),
    # --- delete
    ("delete pod nginx", DeletePod(name="nginx")),
    ("delete pods nginx", DeletePod(name="nginx")),
    ("delete po/nginx", DeletePod(name="nginx")),
    ("delete pod nginx --grace-period=30", DeletePod(name="nginx", grace_period=30)),
    ("delete pod nginx --grace-period=-1", DeletePod(name="nginx")),
    ("delete pod nginx --now", DeletePod(name="nginx", grace_period=1)),
    ("delete pod nginx --now --grace-period=1", DeletePod(name="nginx", grace_period=1)),
    (
        'delete pod nginx --reason "stuck in ImagePullBackOff" -n prod',
        DeletePod(name="nginx", reason="stuck in ImagePullBackOff", where=NS),
    ),
    ("delete secret myregistrykey", DeleteSecret(name="myregistrykey")),
    ("delete secret/myregistrykey --reason=rotated", DeleteSecret(name="myregistrykey", reason="rotated")),
    (
        "delete secrets k -n prod --context=c",
        DeleteSecret(name="k", where=Where(context="c", namespace="prod")),
    ),
    # --- static
    ("static", ListStaticPods()),
    ("static pods", ListStaticPods()),
    ("static -A", ListStaticPods()),
    (
        "static -n kube-system",
        ListStaticPods(where=Where(namespace="kube-system"), all_namespaces=False),
    ),
    ("static --node k8s-node2", ListStaticPods(node="k8s-node2")),
    ("static --context c1 --node=n1", ListStaticPods(where=Where(context="c1"), node="n1")),
    # --- help
    ("", ShowHelp()),
    ("help", ShowHelp()),
    ("-h", ShowHelp()),
    ("--help", ShowHelp()),
    ("help run", ShowHelp("run")),
    ("help static", ShowHelp("static")),
    ("help init", ShowHelp("init")),
    ("help pause", ShowHelp("pause")),
    ("help infra", ShowHelp("pause")),
    ("help imagePullSecrets", ShowHelp("secrets")),
    ("help secrets", ShowHelp("secrets")),
    ("help kubectl run", ShowHelp("run")),
    ("help kubectl", ShowHelp("kubectl")),
    ("run -h", ShowHelp("run")),
    ("get pods --help", ShowHelp("get")),
    ("create --help", ShowHelp("create")),
    ("delete pod x -h", ShowHelp("delete")),
    # --- channel verbs
    ("approvals", ListApprovals()),
    ("approval", ListApprovals()),
    ("audit", ShowAudit()),
    (
        "audit --user U024BE7LH --since 1d -n prod",
        ShowAudit(user="U024BE7LH", since_seconds=86400, namespace="prod"),
    ),
    ("audit --user <@U024BE7LH|alice>", ShowAudit(user="U024BE7LH")),
    ("audit --user=@alice --since=36h", ShowAudit(user="alice", since_seconds=129600)),
    ("subscribe health", Subscribe(kind=DigestKind.HEALTH, cron="0 9 * * *")),
    ("subscribe image-pulls --every 1h", Subscribe(kind=DigestKind.IMAGE_PULLS, every_seconds=3600)),
    ("subscribe Image-Pulls --every=1d", Subscribe(kind=DigestKind.IMAGE_PULLS, every_seconds=86400)),
    (
        'subscribe health --cron "0 9 * * 1-5" -n prod -n dev --context c1',
        Subscribe(
            kind=DigestKind.HEALTH,
            cron="0 9 * * mon,tue,wed,thu,fri",
            namespaces=("prod", "dev"),
            context="c1",
        ),
    ),
    (
        "subscribe health --cron='*/30 8-18 * * *' -n a,b,a",
        Subscribe(kind=DigestKind.HEALTH, cron="*/30 8-18 * * *", namespaces=("a", "b")),
    ),
    ("subscribe health --cron @weekly", Subscribe(kind=DigestKind.HEALTH, cron="0 0 * * sun")),
    (
        "subscribe image-pulls --cron '30 8 * * *' --tz Asia/Shanghai",
        Subscribe(kind=DigestKind.IMAGE_PULLS, cron="30 8 * * *", timezone="Asia/Shanghai"),
    ),
    ("subscribe health --timezone=UTC", Subscribe(kind=DigestKind.HEALTH, cron="0 9 * * *", timezone="UTC")),
    # 08:58 and 09:58 are an hour apart: the five-minute floor must not refuse it
    ("subscribe health --cron '58 8-9 * * *'", Subscribe(kind=DigestKind.HEALTH, cron="58 8-9 * * *")),
    ("subscribe health --cron '0,30 * * * *'", Subscribe(kind=DigestKind.HEALTH, cron="0,30 * * * *")),
    ("subscriptions", ListSubscriptions()),
    ("unsubscribe 3", Unsubscribe(subscription_id=3)),
    ("unsubscribe #12", Unsubscribe(subscription_id=12)),
    ("alerts on", SetAlerts(enabled=True)),
    ("alerts off -n prod", SetAlerts(enabled=False, namespaces=("prod",))),
    ("alerts ON -n a -n b --context c", SetAlerts(enabled=True, namespaces=("a", "b"), context="c")),
]


@pytest.mark.parametrize(("text", "expected"), SEED + VALID, ids=lambda v: v if isinstance(v, str) else "")
def test_parses(text: str, expected: Request) -> None:
    assert parse(text) == expected


def test_seed_run_notes_say_the_flags_had_no_effect_in_both_languages() -> None:
    from podbot.core import i18n

    request = parse("kubectl run nginx --image=nginx:1.16 --replicas=3 --generator=run-pod/v1")
    assert isinstance(request, RunPod)
    english = [i18n.t(key, "en") for key in request.notes]
    chinese = [i18n.t(key, "zh_CN") for key in request.notes]
    assert any("--replicas" in n and "no effect" in n for n in english)
    assert any("--generator" in n and "no effect" in n for n in english)
    assert all("不起作用" in n for n in chinese)


# (text, substring of the message, verb whose usage is the hint; None = the verb list)
INVALID: list[tuple[str, str, str | None]] = [
    # seed: a file path on the user's machine
    ("kubectl create -f nginx-pod.yaml", 'cannot read "nginx-pod.yaml"', "create"),
    ("create -f https://example.com/pod.yaml", "does not fetch manifests from URLs", "create"),
    ("create -f a.yaml -f b.yaml", "at most one `-f`", "create"),
    ("create deployment web --image=nginx", 'not "deployment"', "create"),
    ("create -o yaml", "Unknown flag `-o`", "create"),
    ("create --validate=false -f x.yaml", "Unknown flag `--validate`", "create"),
    ("create secret --type=x generic", "Unknown flag `--type`", "secret"),
    ("create pod x", "/pod run NAME --image=IMAGE", "create"),
    ("create apiVersion: v1 kind: Pod", "on a new line", "create"),
    ("create secret generic x --from-literal=a=b", 'not "generic"', "secret"),
    (
        "create secret docker-registry x --docker-username=u\napiVersion: v1\n",
        "takes its values from flags",
        "secret",
    ),
    (
        "create -n prod\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: dev}\n",
        'namespace "dev"',
        "create",
    ),
    ("create\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n", "Deployment", None),
    ("create ```yaml\nkind: Pod\n``` trailing", "text after the code block", "create"),
    # verbs
    ("frobnicate", "`frobnicate` is not a podbot command", None),
    ("gte pods", "Did you mean `get`?", None),
    ("describ pod x", "Did you mean `describe`?", None),
    ("apply -f x.yaml", "`/pod create`", None),
    ("exec -it nginx -- sh", "interactive terminal", None),
    ("scale deploy/web --replicas=3", "not workloads", None),
    ("events", "describe pod NAME", None),
    # flags
    ("get pods --namspace=prod", "Did you mean `--namespace`?", "get"),
    ("get pods --bogus", "Unknown flag `--bogus`", "get"),
    ("get pods -x", "Unknown flag `-x`", "get"),
    ("get pods -n", "needs a value", "get"),
    ("get pods -n prod -n dev", 'as "prod" and as "dev"', "get"),
    ("get pods --kubeconfig=/tmp/k", "own configured credentials", "get"),
    ("get pods --token abc", "own configured credentials", "get"),
    ("get pods -v=6", "kubectl program itself", "get"),
    ("get pods -w", "keeps watching", "get"),
    ("logs nginx --previous=maybe", "on/off switch", "logs"),
    ("run x --image=nginx --command=perhaps", "on/off switch", "run"),
    # quoting
    ("get pods -l 'app=web", "never closed", "get"),
    ('delete pod x --reason "why', "column 23", "delete"),
    # run
    ("run", "needs a pod name", "run"),
    ("run web", "needs an image", "run"),
    ("run Web --image=nginx", "RFC 1123 subdomain", "run"),
    ("run my.web --image=nginx", "container name must be a DNS label", "run"),
    ("run web --image=Nginx", "must be lowercase", "run"),
    ("run web --image='nginx latest'", "invalid reference format", "run"),
    ("run web --image=nginx:", "invalid reference format", "run"),
    ("run web --image=" + "a" * 64, "image ID", "run"),
    ("run web --image=nginx --port=0", "from 1 to 65535", "run"),
    ("run web --image=nginx --port=70000", "from 1 to 65535", "run"),
    ("run web --image=nginx --port=http", "whole number", "run"),
    ("run web --image=nginx --port=80 --port=81", "given twice", "run"),
    ("run web --image=nginx --env=NOEQUALS", 'has no "="', "run"),
    ("run web --image=nginx --env==x", 'refuses "=x"', "run"),
    ("run web --image=nginx --env=A=1 --env=A=2", 'sets "A" twice', "run"),
    ("run web --image=nginx --labels=app", "key=value pairs", "run"),
    ("run web --image=nginx --labels=-app=web", "Invalid label key", "run"),
    ("run web --image=nginx --labels=app=-web", "Invalid value", "run"),
    ("run web --image=nginx --annotations=bad key=v", "key=value pairs", "run"),
    ("run web --image=nginx --annotations='bad key=v'", "Invalid annotation key", "run"),
    ("run web --image=nginx --restart=Sometimes", "Always, OnFailure, Never", "run"),
    ("run web --image=nginx --image-pull-policy=Maybe", "Always, IfNotPresent, Never", "run"),
    ("run web --image=nginx --dry-run=maybe", "none, server, client", "run"),
    ("run web --image=nginx --overrides='{bad'", "not valid JSON", "run"),
    ("run web --image=nginx --overrides='[1]'", "JSON object", "run"),
    ("run web --image=nginx --generator=deployment/apps.v1", "made a Deployment", "run"),
    ("run web --image=nginx --generator=run/v1", "ReplicationController", "run"),
    ("run web --image=nginx --generator=bogus/v9", 'Unknown generator "bogus/v9"', "run"),
    ("run web --image=nginx --replicas=many", "whole number", "run"),
    ("run web --image=nginx --replicas=-2", "must not be negative", "run"),
    ("run web --image=busybox -it", "attaches a terminal", "run"),
    ("run web --image=busybox --rm", "attaches a terminal", "run"),
    ("run web --image=nginx --expose --port=80", "creates pods", "run"),
    ("run web --image=nginx --serviceaccount=x", "was removed", "run"),
    ("run web --image=nginx --context='a b'", "Invalid context", "run"),
    ("run web --image=nginx -n Prod", "RFC 1123 label", "run"),
    ("run web --image=nginx -n a.b", "must not contain dots", "run"),
    # get
    ("get deploy", 'not "deploy"', "get"),
    ("get deployments.apps", 'not "deployments.apps"', "get"),
    ("get pods,svc", 'not "pods,svc"', "get"),
    ("get svc/web", 'not "svc"', "get"),
    ("get secrets", "does not `get` secrets", "get"),
    ("get deploymnets", 'not "deploymnets"', "get"),
    ("get pods pod/x", "already given", "get"),
    ("get pod/x y", "write every pod as pod/NAME", "get"),
    ("get pods Bad_Name", "RFC 1123 subdomain", "get"),
    ("get pods -A -n prod", "not both", "get"),
    ("get pods x -A", "across all namespaces", "get"),
    ("get pods x -l app=web", "not both", "get"),
    ("get pods -l 'app in web'", "expected: '('", "get"),
    ("get pods -l 'app=(x)'", "found '(', expected: identifier", "get"),
    ("get pods -l '=x'", "expected: !, identifier", "get"),
    ("get pods -l 'a,'", "identifier after ','", "get"),
    ("get pods -l 'a>b'", "must be an integer", "get"),
    ("get pods -l 'Bad Key=1'", "found 'Key'", "get"),
    ("get pods -l '-bad=1'", 'key "-bad"', "get"),
    ("get pods -l 'app=web!'", "expected", "get"),
    ("get pods --field-selector=status.phase", "can't understand", "get"),
    ("get pods --field-selector=status.foo=x", "field label not supported: status.foo", "get"),
    ("get pods --field-selector='metadata.name=a\\q'", "backslash", "get"),
    ("get pods -o jsonpath='{.items}'", "`-o jsonpath", "get"),
    ("get pods -o custom-columns=NAME:.metadata.name", "wide, yaml, json, name", "get"),
    ("get pods -- x", "takes nothing after `--`", "get"),
    # describe
    ("describe pod", "needs a pod name", "describe"),
    ("describe pod a b", "one pod at a time", "describe"),
    ("describe node n1", 'not "node"', "describe"),
    ("describe secret s", "does not `describe` secrets", "describe"),
    # logs
    ("logs", "needs a pod name", "logs"),
    ("logs nginx -f", "streams logs", "logs"),
    ("logs -l app=web", "one pod at a time", "logs"),
    ("logs nginx --all-containers", "one container at a time", "logs"),
    ("logs nginx --since-time=2024-01-01T00:00:00Z", "--since=1h", "logs"),
    ("logs deploy/web", 'not "deploy"', "logs"),
    ("logs nginx a b", "at most one container", "logs"),
    ("logs nginx web -c db", "pick one", "logs"),
    ("logs nginx -c Web", "RFC 1123 label", "logs"),
    ("logs nginx --tail=-5", "-1 (all lines)", "logs"),
    ("logs nginx --tail=ten", "whole number", "logs"),
    ("logs nginx --since=5", "duration such as 30s", "logs"),
    ("logs nginx --since=2d", "duration such as 30s", "logs"),
    ("logs nginx --since=0s", "at least one second", "logs"),
    ("logs nginx --since=100ms", "at least one second", "logs"),
    ("logs nginx --since=-5m", "duration such as", "logs"),
    ("logs nginx --since=9999999999999h", "too long", "logs"),
    # delete
    ("delete", "Say what to delete", "delete"),
    ("delete nginx", 'Say what "nginx" is', "delete"),
    ("delete pod", "Name the pod", "delete"),
    ("delete pod a b", "named several (a, b)", "delete"),
    ("delete pods --all", "one named object", "delete"),
    ("delete pods -l app=web", "one named object", "delete"),
    ("delete -f pod.yaml", "one named object", "delete"),
    ("delete pod x --force", "does not force-delete", "delete"),
    ("delete pod x --grace-period=0", "--grace-period=1", "delete"),
    ("delete pod x --grace-period=-3", "must not be negative", "delete"),
    ("delete pod x --now --grace-period=30", "give one or the other", "delete"),
    ("delete pod x --reason=" + "y" * 501, "longer than 500", "delete"),
    ("delete secret x --grace-period=5", "Unknown flag `--grace-period`", "delete"),
    ("delete deployment web", 'not "deployment"', "delete"),
    ("delete pod Bad", "RFC 1123 subdomain", "delete"),
    # secret
    ("secret", "needs the secret type", "secret"),
    ("secret generic x", 'not "generic"', "secret"),
    ("secret docker-registry", "needs a secret name", "secret"),
    ("secret docker-registry k --docker-server=s", "`--docker-username` is required", "secret"),
    ("secret docker-registry k --docker-username=u --docker-password=", "is empty", "secret"),
    (
        "secret docker-registry k --docker-username=u --docker-server='bad host'",
        "Invalid `--docker-server`",
        "secret",
    ),
    (
        "secret docker-registry k --docker-username=u --docker-server=ftp://x",
        "Invalid `--docker-server`",
        "secret",
    ),
    (
        "secret docker-registry k --docker-username=u --docker-server=x:99999",
        "Invalid `--docker-server`",
        "secret",
    ),
    ("secret docker-registry k --docker-username='a b'", "Invalid `--docker-username`", "secret"),
    ("secret docker-registry k --docker-username=a:b", "Invalid `--docker-username`", "secret"),
    ("secret docker-registry k --docker-username=u --docker-email=", "Invalid `--docker-email`", "secret"),
    ("secret docker-registry k --docker-username=u --from-file=.dockerconfigjson=x", "reads files", "secret"),
    ("secret docker-registry Key --docker-username=u", "RFC 1123 subdomain", "secret"),
    # static
    ("static node01", "--node node01", "static"),
    ("static -A -n kube-system", "not both", "static"),
    ("static --node Node_1", "RFC 1123 subdomain", "static"),
    # help
    ("help bogus", 'no help topic "bogus"', "help"),
    ("help initt", "Did you mean `init`?", "help"),
    ("help run get", "one topic at a time", "help"),
    # channel verbs
    ("approvals now", 'no argument "now"', "approvals"),
    ("subscriptions all", 'no argument "all"', "subscriptions"),
    ("audit --since=soon", "duration such as 30m, 12h or 2d", "audit"),
    ("audit --user='a b'", "Invalid `--user`", "audit"),
    ("audit -n Bad", "RFC 1123 label", "audit"),
    ("subscribe", "Say which digest", "subscribe"),
    ("subscribe weather", 'no "weather" digest', "subscribe"),
    ("subscribe health --every 1h --cron '0 * * * *'", "not both", "subscribe"),
    ("subscribe health --every 1m", "between 5m and 31d", "subscribe"),
    ("subscribe health --every 40d", "between 5m and 31d", "subscribe"),
    ("subscribe health --cron '* * * * *'", "more often than every 5 minutes", "subscribe"),
    ("subscribe health --cron '0,2 9 * * *'", "more often than every 5 minutes", "subscribe"),
    ("subscribe health --cron '58,1 * * * *'", "more often than every 5 minutes", "subscribe"),
    ("subscribe health --cron '0 9 * *'", "needs 5 fields", "subscribe"),
    ("subscribe health --cron '0 0 9 * * *'", "found 6", "subscribe"),
    ("subscribe health --cron '0 24 * * *'", "outside 0-23", "subscribe"),
    ("subscribe health --cron '0 9 * * 8'", "outside 0-7", "subscribe"),
    ("subscribe health --cron '0 9 1 * mon'", "not both", "subscribe"),
    ("subscribe health --cron '0 9 * * fri-mon'", "runs backwards", "subscribe"),
    ("subscribe health --cron '0 9 * * ?'", "cannot read", "subscribe"),
    ("subscribe health --cron '0 9 L * *'", "not a valid day-of-month", "subscribe"),
    ("subscribe health --cron '*/0 9 * * *'", "bad step", "subscribe"),
    ("subscribe health --cron @reboot", "@hourly", "subscribe"),
    ("subscribe health -n Bad", "RFC 1123 label", "subscribe"),
    ("unsubscribe", "Say which subscription", "unsubscribe"),
    ("unsubscribe abc", '"abc" is not a subscription ID', "unsubscribe"),
    ("unsubscribe 0", "is not a subscription ID", "unsubscribe"),
    ("unsubscribe 1 2", "one subscription at a time", "unsubscribe"),
    ("alerts", "alerts on", "alerts"),
    ("alerts maybe", 'not "maybe"', "alerts"),
    ("alerts on off", 'no argument "off"', "alerts"),
]


@pytest.mark.parametrize(("text", "fragment", "verb"), INVALID, ids=[c[0][:60] for c in INVALID])
def test_refuses_with_a_specific_message_and_the_verbs_usage(
    text: str, fragment: str, verb: str | None
) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    err = caught.value
    assert fragment in err.message, err.message
    if isinstance(err, ManifestError):
        assert "podbot creates:" in err.hint
    elif verb is None:
        assert "podbot commands:" in err.hint
    else:
        assert err.hint.startswith("Usage:\n```"), err.hint
        assert f"/pod {verb}" in err.hint


def test_errors_come_in_chinese_when_asked() -> None:
    with pytest.raises(UsageError) as caught:
        parse("get pods --namspace=prod", locale="zh-CN")
    assert "未知参数 `--namspace`" in caught.value.message
    assert "`--namespace`" in caught.value.message
    assert caught.value.hint.startswith("用法：")
    with pytest.raises(UsageError) as caught:
        parse("run Web --image=nginx", locale="zh_CN")
    assert "小写的 RFC 1123 子域名" in caught.value.message


def test_the_api_servers_own_wording_for_names() -> None:
    with pytest.raises(UsageError) as caught:
        parse("get pod My_Pod")
    assert caught.value.message == (
        'Invalid pod name "My_Pod": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
        "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        # the regex in a code span: in Slack's mrkdwn its stars would otherwise turn into bold
        "regex used for validation is `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`). "
        "Did you mean `my-pod`?"
    )
    with pytest.raises(UsageError) as caught:
        parse("get pods -n " + "a" * 64)
    assert "must be no more than 63 bytes" in caught.value.message


class TestSlackText:
    """What Slack does to the text before podbot sees it."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # smart quotes from desktop clients
            ("get pods -l \u201capp in (web,api)\u201d", GetPods(label_selector="app in (web,api)")),
            (
                "delete pod x --reason \u2018it\u2019s broken\u2019",
                DeletePod(name="x", reason="it\u2019s broken"),
            ),
            ("delete pod x --reason it\u2019s", DeletePod(name="x", reason="it\u2019s")),
            # HTML entities Slack escapes in slash command text
            ("get pods -l &quot;x&quot;".replace("&quot;", "'"), GetPods(label_selector="x")),
            ("get pods -l 'ver&gt;3'", GetPods(label_selector="ver>3")),
            ("get pods -l 'ver&lt;3,a=b'", GetPods(label_selector="ver<3,a=b")),
            (
                "delete pod x --reason 'R&amp;D &amp;lt;test&amp;gt;'",
                DeletePod(name="x", reason="R&D &lt;test&gt;"),
            ),
            # links and mentions, when the app escapes them
            (
                "secret docker-registry k --docker-server=<http://registry.example.com|registry.example.com> "
                "--docker-username=u",
                CreateRegistrySecret(name="k", server="registry.example.com", username="u"),
            ),
            (
                "secret docker-registry k --docker-server=<https://index.docker.io/v1/> --docker-username=u "
                "--docker-email=<mailto:a@b.io|a@b.io>",
                CreateRegistrySecret(
                    name="k", server="https://index.docker.io/v1/", username="u", email="a@b.io"
                ),
            ),
            # macOS smart dashes, full-width characters from a Chinese input method
            ("run nginx \u2014image=nginx", RunPod(name="nginx", image="nginx")),
            ("get pods \u2013n prod", GetPods(where=NS)),
            (
                "run box \u2014image=busybox \u2014 sleep 1",
                RunPod(name="box", image="busybox", args=("sleep", "1")),
            ),
            ("get pods \uff0d\uff0dnamespace=prod", GetPods(where=NS)),
            (
                "get pods \uff0d\uff0d\uff4e\uff41\uff4d\uff45\uff53\uff50\uff41\uff43\uff45\uff1dprod",
                GetPods(where=NS),
            ),
            ("get\u3000pods\u3000-n\u3000prod", GetPods(where=NS)),
            ("get\u00a0pods", GetPods()),
            ("get\u200b pods", GetPods()),
            # code formatting around the whole command
            ("`get pods`", GetPods()),
            ("```kubectl get pods -A```", GetPods(all_namespaces=True)),
            # shell habits
            ("$ kubectl get pods", GetPods()),
            ("k get pods", GetPods()),
            ("get pods \\\n -n prod", GetPods(where=NS)),
            ("get pods\n-n prod", GetPods(where=NS)),
            ("  get   pods  ", GetPods()),
            ("Get Pods", GetPods()),
        ],
    )
    def test_cleans_up(self, text: str, expected: Request) -> None:
        assert parse(text) == expected


def test_a_secret_manifest_stays_out_of_the_requests_repr() -> None:
    manifest = (
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\nmetadata: {name: k}\n"
        "data: {.dockerconfigjson: eyJhdXRocyI6e319}\n"
    )
    request = parse("create\n" + manifest)
    assert isinstance(request, CreateFromManifest)
    assert request.manifest == manifest
    assert "eyJhdXRocyI6e319" not in repr(request)


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("get pod MyNginx", "`mynginx`"),
        ("run MyNginx --image=nginx", "`mynginx`"),
        ("logs Web_1", "`web-1`"),
        ("get pods -n Prod", "`prod`"),
    ],
)
def test_an_invalid_name_that_only_needs_lowercase_gets_the_valid_one_suggested(
    text: str, suggested: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert f"Did you mean {suggested}?" in caught.value.message


def test_no_suggestion_when_lowercase_does_not_make_a_valid_name() -> None:
    with pytest.raises(UsageError) as caught:
        parse("get pod -bad-")
    assert "Did you mean" not in caught.value.message


@pytest.mark.parametrize("typo", ["pdos", "opds", "podss", "ppod", "pdo"])
def test_a_misspelt_pods_is_not_taken_for_a_pod_name(typo: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(f"get {typo}")
    assert "Did you mean `pods`?" in caught.value.message
    assert f"`/pod get pod {typo}`" in caught.value.message  # how to mean a pod really named so
    assert parse(f"get pod {typo}") == GetPods(names=(typo,))


def test_an_unknown_verb_lists_the_commands_once() -> None:
    with pytest.raises(UsageError) as caught:
        parse("gte pods")
    assert "Did you mean `get`?" in caught.value.message
    assert str(caught.value).count("subscriptions") == 1  # the list is in the hint only


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("subscribe health --cron '0 9 * * *' --tz Mars/Olympus", 'There is no time zone "Mars/Olympus"'),
        ("subscribe health --every 1h --tz Asia/Shanghai", "`--tz` sets the time zone of a `--cron`"),
    ],
)
def test_a_cron_time_zone_must_exist_and_belongs_to_cron(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=re.escape(problem)):
        parse(text)
