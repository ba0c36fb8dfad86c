"""The shared Kubernetes action layer: one small function per request type, returning typed results.

Slash commands, buttons and the scheduler all come through here. Each function takes the request
(whose namespace the caller has already resolved, e.g. from channel defaults), the ``Kube``
of the target cluster and, when per-user identity is on, the ``Identity`` to impersonate.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from podbot.core import kubeprint, overrides
from podbot.core.diagnosis.credentials import (
    REGISTRY_SECRET_TYPES,
    RegistryCredentialIndex,
    normalize_host,
    pull_secret_names,
)
from podbot.core.diagnosis.findings import CREDENTIAL_CAUSES, Finding, FindingKind
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.diagnosis.rules import diagnose
from podbot.core.errors import Conflict, Invalid, NotFound, NotPermitted, PodbotError, UsageError
from podbot.core.i18n import t
from podbot.core.kube import as_pod
from podbot.core.manifests import Manifest, load_manifests
from podbot.core.model import (
    AttachPullSecret,
    CreateFromManifest,
    CreateRegistrySecret,
    DeletePod,
    DeleteSecret,
    DescribePod,
    DryRun,
    GetPods,
    ListStaticPods,
    OutputFormat,
    PodLogs,
    ReplaceRegistryLogin,
    RunPod,
)
from podbot.core.pods.describe import event_rows, sort_events
from podbot.core.pods.status import pod_status
from podbot.core.pods.summary import EventNote, PodSummary, StateKind, note_from_event, remember, summarize
from podbot.core.records import DeleteTarget
from podbot.core.results import (
    Changed,
    Logs,
    Notice,
    ObjectRef,
    PodDescription,
    PodTable,
    RawOutput,
    StaticPod,
    StaticPods,
)
from podbot.k8s.api import TABLE_ACCEPT, Identity, Kube, path_for

JSON = dict[str, Any]

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
DEFAULT_STATIC_POD_PATH = "/etc/kubernetes/manifests"
MAX_LOG_BYTES = 512 * 1024  # more than any chat message; the renderer uploads big logs as a file


def namespace_of(where_namespace: str | None, kube: Kube) -> str:
    return where_namespace or kube.default_namespace


def _dry_run_query(dry_run: DryRun) -> list[tuple[str, str]]:
    return [("dryRun", "All")] if dry_run is DryRun.SERVER else []


# --- run -----------------------------------------------------------------------------------------
def build_run_pod(req: RunPod, namespace: str | None, locale: str | None = None) -> JSON:
    """The Pod ``kubectl run`` generates for these flags (``namespace`` None: none, as without -n)."""
    container: JSON = {"name": req.name, "image": req.image, "resources": {}}
    if req.port is not None:
        container["ports"] = [{"containerPort": req.port}]
    if req.env:
        container["env"] = [{"name": k, "value": v} for k, v in req.env]
    if req.args:
        container["command" if req.command else "args"] = list(req.args)
    if req.image_pull_policy:
        container["imagePullPolicy"] = req.image_pull_policy
    if req.privileged:
        container["securityContext"] = {"privileged": True}
    metadata: JSON = {"name": req.name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(req.labels) if req.labels is not None else {"run": req.name}
    if req.annotations:
        metadata["annotations"] = dict(req.annotations)
    pod: JSON = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [container], "dnsPolicy": "ClusterFirst", "restartPolicy": req.restart.value},
    }
    if req.overrides:
        try:
            pod = overrides.apply(pod, json.loads(req.overrides), req.override_type)
        except (ValueError, RecursionError) as exc:  # OverrideError, or JSON the parser let through
            raise UsageError(t("actions.bad_overrides", locale, error=str(exc))) from exc
        if not isinstance(pod, dict):
            raise UsageError(t("actions.bad_overrides", locale, error="the result is not a Pod"))
    return pod


def as_kubectl_prints(pod: JSON) -> JSON:
    """A generated Pod as kubectl prints its typed form: the zero values a Go struct always has."""
    printed = {**pod, "metadata": {**(pod.get("metadata") or {})}, "status": pod.get("status") or {}}
    printed["metadata"].setdefault("creationTimestamp", None)
    spec = printed.get("spec")
    if isinstance(spec, dict):
        for field in ("initContainers", "containers"):
            if isinstance(spec.get(field), list):
                spec = {
                    **spec,
                    field: [{"resources": {}, **c} if isinstance(c, dict) else c for c in spec[field]],
                }
        printed["spec"] = spec
    return printed


def printed_pod(pod: JSON, output: OutputFormat, context: str, *, show_managed_fields: bool) -> RawOutput:
    """``kubectl run -o yaml|json|name``'s output for ``pod``."""
    if not show_managed_fields:
        pod = without_managed_fields(pod)
    if output is OutputFormat.NAME:
        text = f"pod/{(pod.get('metadata') or {}).get('name', '')}\n"
    elif output is OutputFormat.JSON:
        text = kubeprint.json_text(pod, typed_pod=True)
    else:
        text = kubeprint.yaml_text(pod)
    return RawOutput(context, output, text)


def run_pod(req: RunPod, kube: Kube, as_user: Identity | None = None, locale: str | None = None) -> Changed:
    pod = build_run_pod(req, req.where.namespace, locale)
    namespace = namespace_of(req.where.namespace, kube)

    def printed(obj: JSON) -> RawOutput | None:
        if req.output is None:
            return None
        return printed_pod(obj, req.output, kube.context, show_managed_fields=req.show_managed_fields)

    if req.dry_run is DryRun.CLIENT:
        ref = ObjectRef("Pod", namespace, req.name)
        preview = as_kubectl_prints(pod)
        return Changed(
            "created",
            kube.context,
            (ref,),
            dry_run=True,
            notes=req.notes,
            preview=preview,
            printed=printed(preview),
        )
    created = kube.request(
        "POST",
        path_for("v1", "pods", namespace),
        body=pod,
        query=_dry_run_query(req.dry_run),
        as_user=as_user,
    )
    return Changed(
        "created",
        kube.context,
        (_ref(created),),
        dry_run=req.dry_run is DryRun.SERVER,
        notes=req.notes,
        preview=created if req.dry_run is DryRun.SERVER else None,
        printed=printed(created),
    )


def _ref(obj: JSON) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(
        str(obj.get("kind", "")),
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
        str(meta.get("uid", "")),
    )


# --- create --------------------------------------------------------------------------------------
PLURALS = {"Pod": "pods", "Secret": "secrets"}
STRICT = ("fieldValidation", "Strict")


def create_from_manifest(
    req: CreateFromManifest, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> Changed:
    """Create every document, or none: all are dry-run on the server (strict fields) first."""
    if req.manifest is None:
        raise UsageError(t("actions.manifest_needed", locale))
    manifests = load_manifests(req.manifest)
    plan = [(m, _target_namespace(m, req.where.namespace, kube, locale)) for m in manifests]
    previews = []
    for manifest, namespace in plan:
        try:
            previews.append(
                kube.request(
                    "POST",
                    path_for("v1", PLURALS[manifest.kind], namespace),
                    raw_body=manifest.body,
                    query=[("dryRun", "All"), STRICT],
                    as_user=as_user,
                )
            )
        except Invalid as exc:
            raise _in_document(exc, manifest, len(plan), locale) from exc
    if req.dry_run is not DryRun.NONE:
        return Changed("created", kube.context, tuple(_ref(p) for p in previews), dry_run=True)
    created: list[ObjectRef] = []
    for manifest, namespace in plan:
        try:
            obj = kube.request(
                "POST",
                path_for("v1", PLURALS[manifest.kind], namespace),
                raw_body=manifest.body,
                query=[STRICT],
                as_user=as_user,
            )
        except PodbotError as exc:
            if not created:
                raise
            done = ", ".join(f"{r.kind.lower()}/{r.name}" for r in created)
            raise type(exc)(t("actions.create_partial", locale, done=done, error=exc.message)) from exc
        created.append(_ref(obj))
    return Changed("created", kube.context, tuple(created))


def _target_namespace(manifest: Manifest, flag: str | None, kube: Kube, locale: str | None) -> str:
    if flag and manifest.namespace and manifest.namespace != flag:
        # kubectl's own refusal: the flag must not silently move an object elsewhere
        raise UsageError(t("actions.namespace_mismatch", locale, document=manifest.namespace, flag=flag))
    return manifest.namespace or flag or kube.default_namespace


def _in_document(error: Invalid, manifest: Manifest, count: int, locale: str | None) -> Invalid:
    if count == 1:
        return error
    where = t(
        "actions.in_document", locale, index=manifest.index, kind=manifest.kind, name=manifest.name or ""
    )
    return Invalid(f"{where}: {error.message}", error.causes)


# --- get -----------------------------------------------------------------------------------------
def get_pods(
    req: GetPods, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> PodTable | RawOutput:
    namespace = None if req.all_namespaces else namespace_of(req.where.namespace, kube)
    query: list[tuple[str, str | int | bool]] = []
    if req.label_selector:
        query.append(("labelSelector", req.label_selector))
    if req.field_selector:
        query.append(("fieldSelector", req.field_selector))
    collection = path_for("v1", "pods", namespace)
    if req.output in (OutputFormat.TABLE, OutputFormat.WIDE):
        return _table(req, kube, namespace, collection, query, as_user)
    objects, missing = _fetch(req, kube, namespace, collection, query, as_user)
    if missing:
        raise NotFound(t("actions.pods_not_found", locale, names=", ".join(missing)))
    if not req.show_managed_fields:
        objects = [without_managed_fields(o) for o in objects]
    return RawOutput(kube.context, req.output, _format(objects, req.output, bool(req.names)))


def without_managed_fields(obj: JSON) -> JSON:
    """The object as ``kubectl get -o yaml|json`` prints it: ``metadata.managedFields`` left out."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def _fetch(
    req: GetPods,
    kube: Kube,
    namespace: str | None,
    collection: str,
    query: list[Any],
    as_user: Identity | None,
) -> tuple[list[JSON], list[str]]:
    if not req.names:
        items, _ = kube.list_all(collection, query=query, as_user=as_user)
        for item in items:  # list items carry no kind; kubectl -o yaml shows them with it
            item.setdefault("apiVersion", "v1")
            item.setdefault("kind", "Pod")
        return items, []
    found, missing = [], []
    for name in req.names:
        try:
            found.append(kube.get(path_for("v1", "pods", namespace, name), as_user=as_user))
        except NotFound:
            missing.append(name)
    return found, missing


def _format(objects: list[JSON], output: OutputFormat, by_name: bool) -> str:
    if output is OutputFormat.NAME:
        return "".join(f"pod/{o['metadata']['name']}\n" for o in objects)
    document: Any = (
        objects[0]
        if by_name and len(objects) == 1
        else {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}
    )
    if output is OutputFormat.JSON:
        return kubeprint.json_text(document)
    return kubeprint.yaml_text(document)


def _table(
    req: GetPods,
    kube: Kube,
    namespace: str | None,
    collection: str,
    query: list[Any],
    as_user: Identity | None,
) -> PodTable:
    wide = req.output is OutputFormat.WIDE
    tables: list[JSON] = []
    missing: list[str] = []
    if req.names:
        for name in req.names:
            try:
                tables.append(
                    kube.get(path_for("v1", "pods", namespace, name), accept=TABLE_ACCEPT, as_user=as_user)
                )
            except NotFound:
                missing.append(name)
    else:
        # Rows need the object only for -A (its namespace column); without it the answer is smaller.
        query = [*query, ("includeObject", "Metadata" if namespace is None else "None")]
        token = ""
        while True:
            page_query = [*query, ("limit", 500)] + ([("continue", token)] if token else [])
            page = kube.get(collection, query=page_query, accept=TABLE_ACCEPT, as_user=as_user)
            tables.append(page)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
    definitions = (
        next((tb.get("columnDefinitions") for tb in tables if tb.get("columnDefinitions")), None) or []
    )
    shown = [i for i, d in enumerate(definitions) if wide or int(d.get("priority") or 0) == 0]
    columns = [str(definitions[i].get("name", "")).upper() for i in shown]
    rows: list[tuple[str, ...]] = []
    for table in tables:
        for row in table.get("rows") or ():
            cells = row.get("cells") or []
            values = [_cell(cells[i]) if i < len(cells) else "" for i in shown]
            if namespace is None:
                obj = row.get("object") or {}
                values.insert(0, str((obj.get("metadata") or {}).get("namespace", "")))
            rows.append(tuple(values))
    if namespace is None:
        columns.insert(0, "NAMESPACE")
    return PodTable(kube.context, namespace, tuple(columns), tuple(rows), tuple(missing))


def _cell(value: Any) -> str:
    if value is None:
        return "<none>"
    return str(value)


# --- describe ------------------------------------------------------------------------------------
CRASH_LOG_LINES = 10
CRASH_LOG_BYTES = 16 * 1024  # ten lines of a chatty program, no more
CRASH_LOG_CONTAINERS = 4  # containers whose logs one diagnosis reads at most
FRESH_FINDINGS_LIMIT = 10  # findings an alert or digest re-reads from the API before posting


def describe_pod(
    req: DescribePod, kube: Kube, now: datetime, as_user: Identity | None = None
) -> PodDescription:
    """The pod, its events and podbot's diagnosis of what is wrong and how to fix it."""
    namespace = namespace_of(req.where.namespace, kube)
    pod = kube.get(path_for("v1", "pods", namespace, req.name), as_user=as_user)
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    selector = f"involvedObject.name={req.name},involvedObject.namespace={namespace},involvedObject.uid={uid}"
    events = (
        kube.get(
            path_for("v1", "events", namespace), query=[("fieldSelector", selector)], as_user=as_user
        ).get("items")
        or []
    )
    summary = summarize(pod, now=now)
    notes = []
    for event in sort_events(events):
        note = note_from_event(event)
        if note is not None:
            notes.append(note)
            summary = remember(summary, note)
    credentials = registry_credentials(kube, summary, as_user=as_user, only_named=False)
    findings = diagnose(summary, notes, credentials, now, crash_logs=crash_logs(kube, summary, as_user))
    return PodDescription(kube.context, pod, event_rows(events, now), tuple(findings))


def registry_credentials(
    kube: Kube, pod: PodSummary, *, as_user: Identity | None = None, only_named: bool = True
) -> RegistryCredentialIndex:
    """What the API says *now* about the pod's registry credentials: its named pull secrets (or,
    when it names none or ``only_named`` is False, every registry secret of its namespace) and its
    ServiceAccount. The watch cache may be behind a secret just created or replaced.
    Without read access diagnosis says "unknown"."""
    namespace = pod.namespace
    secrets: list[JSON] = []
    try:
        if only_named and pod.pull_secrets:
            for name in pod.pull_secrets:
                try:
                    secrets.append(kube.get(path_for("v1", "secrets", namespace, name), as_user=as_user))
                except NotFound:
                    continue  # the pod names a secret that does not exist: that is the finding
        else:
            for kind in REGISTRY_SECRET_TYPES:
                items, _ = kube.list_all(
                    path_for("v1", "secrets", namespace),
                    query=[("fieldSelector", f"type={kind}")],
                    as_user=as_user,
                )
                secrets += items
    except NotPermitted:
        return RegistryCredentialIndex.build([])
    accounts: list[JSON] = []
    try:
        account = pod.service_account or "default"
        accounts.append(kube.get(path_for("v1", "serviceaccounts", namespace, account), as_user=as_user))
    except (NotPermitted, NotFound):
        pass  # then podbot does not know whether the account names the secret
    return RegistryCredentialIndex.from_secrets(namespace, secrets, accounts)


def crash_logs(kube: Kube, pod: PodSummary, as_user: Identity | None = None) -> dict[str, list[str]]:
    """The last lines each crashed container wrote (bounded): of the run that just ended for a
    container that stopped, else of its previous run (crash loops, OOM kills)."""
    logs: dict[str, list[str]] = {}
    for container, previous in _crashed(pod)[:CRASH_LOG_CONTAINERS]:
        query: list[tuple[str, str | int | bool]] = [("container", container)]
        if previous:
            query.append(("previous", "true"))
        query += [("tailLines", CRASH_LOG_LINES), ("limitBytes", CRASH_LOG_BYTES)]
        try:
            text = kube.text(
                path_for("v1", "pods", pod.namespace, pod.name, "log"), query=query, as_user=as_user
            )
        except PodbotError:
            continue  # logs are evidence, not a requirement
        logs[container] = text.splitlines()[-CRASH_LOG_LINES:]
    return logs


def _crashed(pod: PodSummary) -> list[tuple[str, bool]]:
    """(container, previous run?) for every container whose logs could say why it failed."""
    found = []
    for c in pod.containers:
        if c.state is StateKind.TERMINATED and (c.exit_code or 0) != 0:
            found.append((c.name, False))
        elif c.last_finished_at is not None and (
            c.reason == "CrashLoopBackOff" or (c.last_exit_code or 0) != 0 or c.last_reason == "OOMKilled"
        ):
            found.append((c.name, True))
    return found


# "pull access denied" although a login was sent: the login may lack access to the repository.
_CREDENTIAL_CAUSES = CREDENTIAL_CAUSES | {PullCause.NOT_FOUND}
_LOG_KINDS = frozenset(
    {
        FindingKind.CRASH_LOOP,
        FindingKind.OOM_KILLED,
        FindingKind.INIT_FAILURE,
        FindingKind.CONTAINER_FAILED,
        FindingKind.FREQUENT_RESTARTS,
    }
)


def fresh_findings(
    kube: Kube,
    pod: PodSummary,
    notes: Sequence[EventNote],
    credentials: RegistryCredentialIndex,
    now: datetime,
    findings: Sequence[Finding],
) -> list[Finding]:
    """``findings`` about a cached pod, diagnosed again with what the API says now before they are
    posted: its pull secrets and ServiceAccount for credential findings, the crashed containers'
    last log lines for crash findings. Other findings cost no API call."""
    pulls = any(
        f.kind is FindingKind.IMAGE_PULL and (f.cause in _CREDENTIAL_CAUSES or f.missing_secret)
        for f in findings
    )
    crashes = any(f.kind in _LOG_KINDS for f in findings)
    if not pulls and not crashes:
        return list(findings)
    fresh = registry_credentials(kube, pod) if pulls else credentials
    logs = crash_logs(kube, pod) if crashes else {}
    return diagnose(pod, notes, fresh, now, crash_logs=logs)


def refresh_findings(
    kube: Kube,
    findings: Sequence[Finding],
    pod_of: Callable[[str, str], PodSummary | None],
    notes_of: Callable[[str, str], Sequence[EventNote]],
    credentials: RegistryCredentialIndex,
    now: datetime,
    *,
    limit: int = FRESH_FINDINGS_LIMIT,
) -> list[Finding]:
    """The first ``limit`` pods' findings (in the given order) from ``fresh_findings``, the others
    as they were; a pod the API cannot tell about now keeps its cached findings."""
    by_pod: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        by_pod.setdefault((finding.namespace, finding.pod), []).append(finding)
    fresh: dict[tuple[str, str], list[Finding]] = {}
    for key in list(by_pod)[:limit]:
        pod = pod_of(*key)
        if pod is None:
            continue
        try:
            fresh[key] = fresh_findings(kube, pod, notes_of(*key), credentials, now, by_pod[key])
        except PodbotError:
            continue  # the cluster is unreachable right now: post what the cache knows
    result: list[Finding] = []
    for key, cached in by_pod.items():
        result += fresh.get(key, cached)
    return result


# --- logs ----------------------------------------------------------------------------------------
def pod_logs(req: PodLogs, kube: Kube, as_user: Identity | None = None) -> Logs:
    namespace = namespace_of(req.where.namespace, kube)
    pod = kube.get(path_for("v1", "pods", namespace, req.name), as_user=as_user)
    spec = pod.get("spec") or {}
    init_names = [c["name"] for c in spec.get("initContainers") or ()]
    app_names = [c["name"] for c in spec.get("containers") or ()]
    container = req.container
    if container is None:
        # kubectl picks the default-container annotation, else the first app container.
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        container = annotations.get("kubectl.kubernetes.io/default-container") or (
            app_names[0] if app_names else ""
        )
    query: list[tuple[str, str | int | bool]] = [("container", container)]
    if req.previous:
        query.append(("previous", True))
    if req.tail is not None:
        query.append(("tailLines", req.tail))
    if req.since_seconds is not None:
        query.append(("sinceSeconds", req.since_seconds))
    query.append(("limitBytes", MAX_LOG_BYTES))
    text = kube.text(path_for("v1", "pods", namespace, req.name, "log"), query=query, as_user=as_user)
    return Logs(
        kube.context, namespace, req.name, container, req.previous, text, tuple(init_names + app_names)
    )


# --- delete --------------------------------------------------------------------------------------
def plan_delete_pod(
    req: DeletePod, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> DeleteTarget:
    """Look the pod up and pin it (uid) for approval; mirror pods are refused with the reason."""
    namespace = namespace_of(req.where.namespace, kube)
    pod = kube.get(path_for("v1", "pods", namespace, req.name), as_user=as_user)
    meta = pod.get("metadata") or {}
    node = str((pod.get("spec") or {}).get("nodeName") or "")
    annotations = meta.get("annotations") or {}
    if MIRROR_ANNOTATION in annotations:
        raise NotPermitted(
            t(
                "actions.static_delete_refused",
                locale,
                name=req.name,
                node=node or "?",
                where=_manifest_hint(pod, locale),
            )
        )
    owner = next((o for o in meta.get("ownerReferences") or () if o.get("controller")), None) or {}
    return DeleteTarget(
        context=kube.context,
        kind="Pod",
        namespace=namespace,
        name=req.name,
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        owner_kind=str(owner.get("kind", "")),
        owner_name=str(owner.get("name", "")),
        node=node,
        grace_period=req.grace_period,
        reason=req.reason,
    )


def plan_delete_secret(req: DeleteSecret, kube: Kube, as_user: Identity | None = None) -> DeleteTarget:
    namespace = namespace_of(req.where.namespace, kube)
    secret = kube.get(path_for("v1", "secrets", namespace, req.name), as_user=as_user)
    meta = secret.get("metadata") or {}
    return DeleteTarget(
        context=kube.context,
        kind="Secret",
        namespace=namespace,
        name=req.name,
        uid=str(meta.get("uid", "")),
        resource_version=str(meta.get("resourceVersion", "")),
        reason=req.reason,
    )


def delete_target(target: DeleteTarget, kube: Kube, as_user: Identity | None = None) -> Changed:
    """Delete exactly the object that was approved: a same-named replacement fails the uid precondition."""
    plural = "pods" if target.kind == "Pod" else "secrets"
    options: JSON = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": target.uid}}
    if target.grace_period is not None:
        options["gracePeriodSeconds"] = target.grace_period
    kube.request(
        "DELETE", path_for("v1", plural, target.namespace, target.name), body=options, as_user=as_user
    )
    return Changed(
        "deleted", kube.context, (ObjectRef(target.kind, target.namespace, target.name, target.uid),)
    )


# --- registry secret -----------------------------------------------------------------------------
def dockerconfigjson(server: str, username: str, password: str, email: str | None) -> str:
    """The ``.dockerconfigjson`` document ``kubectl create secret docker-registry`` writes."""
    entry: JSON = {"username": username, "password": password}
    if email:
        entry["email"] = email
    entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: entry}}, separators=(",", ":"))


def create_registry_secret(
    req: CreateRegistrySecret, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> Changed:
    if req.password is None or not req.password:
        raise UsageError(t("actions.password_required", locale, name=req.name))
    namespace = namespace_of(req.where.namespace, kube)
    config = dockerconfigjson(req.server, req.username, req.password.reveal(), req.email)
    secret: JSON = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": req.name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()},
    }
    if req.dry_run is DryRun.CLIENT:
        return Changed("created", kube.context, (ObjectRef("Secret", namespace, req.name),), dry_run=True)
    created = kube.request(
        "POST",
        path_for("v1", "secrets", namespace),
        body=secret,
        query=_dry_run_query(req.dry_run),
        as_user=as_user,
    )
    return Changed("created", kube.context, (_ref(created),), dry_run=req.dry_run is DryRun.SERVER)


def _login_entry(username: str, password: str, email: str | None) -> JSON:
    entry: JSON = {"username": username, "password": password}
    if email:
        entry["email"] = email
    entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
    return entry


def replace_registry_login(
    req: ReplaceRegistryLogin, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> Changed:
    """Set the login for ``req.server`` in the existing registry secret, in place (an update pinned
    to the version read: a concurrent change fails instead of being overwritten). Entries for other
    registries stay; an entry for the same host under another spelling (``https://host/v1/``) goes."""
    if req.password is None or not req.password or not req.username:
        raise UsageError(t("actions.password_required", locale, name=req.name))
    namespace = namespace_of(req.where.namespace, kube)
    path = path_for("v1", "secrets", namespace, req.name)
    try:
        secret = kube.get(path, as_user=as_user)
    except NotFound as exc:
        raise NotFound(t("actions.login_secret_missing", locale, name=req.name, namespace=namespace)) from exc
    kind = str(secret.get("type") or "")
    key = {
        "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
        "kubernetes.io/dockercfg": ".dockercfg",
    }.get(kind)
    if key is None:
        raise UsageError(t("actions.not_registry_secret", locale, name=req.name, type=kind or "Opaque"))
    data = dict(secret.get("data") or {})
    try:
        document = json.loads(base64.b64decode(data[key], validate=True)) if data.get(key) else {}
    except (ValueError, binascii.Error) as exc:
        raise Invalid(t("actions.registry_secret_unreadable", locale, name=req.name)) from exc
    if not isinstance(document, dict):
        raise Invalid(t("actions.registry_secret_unreadable", locale, name=req.name))
    entries = document.get("auths") if key == ".dockerconfigjson" else document
    if not isinstance(entries, dict):
        entries = {}
    host = normalize_host(req.server)
    entries = {k: v for k, v in entries.items() if normalize_host(str(k)) != host}
    entries[req.server] = _login_entry(req.username, req.password.reveal(), req.email)
    document = {**document, "auths": entries} if key == ".dockerconfigjson" else entries
    encoded = json.dumps(document, separators=(",", ":"))
    data[key] = base64.b64encode(encoded.encode()).decode()
    body = {**secret, "data": data}
    ref = ObjectRef("Secret", namespace, req.name, str((secret.get("metadata") or {}).get("uid", "")))
    notes = ("actions.login_replaced_note",)
    if req.dry_run is DryRun.CLIENT:
        return Changed("updated", kube.context, (ref,), dry_run=True, notes=notes)
    try:
        updated = kube.request("PUT", path, body=body, query=_dry_run_query(req.dry_run), as_user=as_user)
    except Conflict as exc:
        raise Conflict(t("actions.changed_meanwhile", locale, kind="secret", name=req.name)) from exc
    return Changed(
        "updated", kube.context, (_ref(updated),), dry_run=req.dry_run is DryRun.SERVER, notes=notes
    )


def attach_pull_secret(
    req: AttachPullSecret, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> Changed | Notice:
    """Add the registry secret to the ServiceAccount's imagePullSecrets (an update pinned to the
    version read). Already there: a notice, nothing written."""
    namespace = namespace_of(req.where.namespace, kube)
    try:
        secret = kube.get(path_for("v1", "secrets", namespace, req.name), as_user=as_user)
    except NotFound as exc:
        raise NotFound(t("actions.login_secret_missing", locale, name=req.name, namespace=namespace)) from exc
    if secret.get("type") not in REGISTRY_SECRET_TYPES:
        raise UsageError(
            t("actions.not_registry_secret", locale, name=req.name, type=secret.get("type") or "Opaque")
        )
    path = path_for("v1", "serviceaccounts", namespace, req.service_account)
    try:
        account = kube.get(path, as_user=as_user)
    except NotFound as exc:
        raise NotFound(
            t("actions.service_account_missing", locale, name=req.service_account, namespace=namespace)
        ) from exc
    names = pull_secret_names(account)
    if req.name in names:
        return Notice(
            "actions.already_attached",
            {"name": req.name, "service_account": req.service_account, "namespace": namespace},
        )
    body = {**account, "imagePullSecrets": [*(account.get("imagePullSecrets") or []), {"name": req.name}]}
    ref = ObjectRef(
        "ServiceAccount", namespace, req.service_account, str((account.get("metadata") or {}).get("uid", ""))
    )
    notes = ("actions.attached_note",)
    if req.dry_run is DryRun.CLIENT:
        return Changed("updated", kube.context, (ref,), dry_run=True, notes=notes)
    try:
        updated = kube.request("PUT", path, body=body, query=_dry_run_query(req.dry_run), as_user=as_user)
    except Conflict as exc:
        raise Conflict(
            t("actions.changed_meanwhile", locale, kind="service account", name=req.service_account)
        ) from exc
    return Changed(
        "updated", kube.context, (_ref(updated),), dry_run=req.dry_run is DryRun.SERVER, notes=notes
    )


# --- static pods ---------------------------------------------------------------------------------
def _manifest_hint(pod: JSON, locale: str | None) -> str:
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    node = str((pod.get("spec") or {}).get("nodeName") or "")
    base = str(meta.get("name", ""))
    if node and base.endswith("-" + node):
        base = base[: -len(node) - 1]
    if annotations.get(SOURCE_ANNOTATION) == "http":
        return t("actions.manifest_from_url", locale, name=base, node=node)
    return t("actions.manifest_in_dir", locale, name=base, node=node, path=DEFAULT_STATIC_POD_PATH)


def list_static_pods(
    req: ListStaticPods, kube: Kube, as_user: Identity | None = None, locale: str | None = None
) -> StaticPods:
    namespace = (
        None if req.all_namespaces and not req.where.namespace else namespace_of(req.where.namespace, kube)
    )
    query: list[tuple[str, str | int | bool]] = []
    if req.node:
        query.append(("fieldSelector", f"spec.nodeName={req.node}"))
    items, _ = kube.list_all(path_for("v1", "pods", namespace), query=query, as_user=as_user)
    pods = []
    for pod in items:
        meta = pod.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if MIRROR_ANNOTATION not in annotations:
            continue
        pods.append(
            StaticPod(
                namespace=str(meta.get("namespace", "")),
                name=str(meta.get("name", "")),
                node=str((pod.get("spec") or {}).get("nodeName") or ""),
                source=str(annotations.get(SOURCE_ANNOTATION, "")),
                status=pod_status(as_pod(pod)),
                manifest_hint=_manifest_hint(pod, locale),
            )
        )
    return StaticPods(kube.context, tuple(pods))


# --- access reviews ------------------------------------------------------------------------------
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def may(kube: Kube, identity: Identity, verb: str, resource: str, namespace: str | None) -> bool:
    """Whether ``identity`` may ``verb`` ``resource`` in ``namespace`` (None: cluster-wide), as the
    cluster's own authorizer says: a SelfSubjectAccessReview made as that identity (impersonated),
    which every authenticated user may create, so podbot needs no extra permission for it."""
    attributes: JSON = {"verb": verb, "resource": resource}
    if namespace is not None:
        attributes["namespace"] = namespace
    review: JSON = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    answer = kube.request("POST", REVIEWS, body=review, as_user=identity)
    return bool((answer.get("status") or {}).get("allowed"))
