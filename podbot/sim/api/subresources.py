"""Subresources with their own shape: ``pods/log`` (delegated to the kubelets) and ``deployments/scale``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from podbot.sim.api.exchange import RequestInfo, flag, int_param, json_response
from podbot.sim.objects import patch as patches
from podbot.sim.objects.apierrors import (
    invalid,
    status_bad_request,
    status_invalid,
    status_method_not_allowed,
)
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.resources import ResourceType
from podbot.sim.objects.rest import Rest
from podbot.sim.wire.transport import Request, Response, StreamResponse

JSON = dict[str, Any]


class LogSource(Protocol):
    """What the API server needs from the kubelets (``podbot.sim.kubelet.pool.KubeletPool``)."""

    def logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> list[str]: ...

    def follow_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
        stop: threading.Event,
    ) -> Iterator[str]:
        """Raises SimApiError at the call (not at the first next()); then streams until stop or exit."""
        ...


def pod_logs(
    req: Request, info: RequestInfo, rest: Rest, source: LogSource | None
) -> Response | StreamResponse:
    """GET pods/NAME/log: validate PodLogOptions, then plain text, or a chunked stream for follow."""
    if info.verb != "get":
        raise status_method_not_allowed()
    rest.get(info.rt, info.namespace, info.name)  # 404 for a missing pod, as the server does
    if source is None:
        raise SimApiError(503, "ServiceUnavailable", "no kubelet is running in this simulator")
    errors = []
    tail = int_param(req, "tailLines")
    if tail is not None and tail < 0:
        errors.append(invalid("tailLines", tail, "must be greater than or equal to 0"))
    since = int_param(req, "sinceSeconds")
    if since is not None and since < 1:
        errors.append(invalid("sinceSeconds", since, "must be greater than 0"))
    limit_bytes = int_param(req, "limitBytes")
    if limit_bytes is not None and limit_bytes < 1:
        errors.append(invalid("limitBytes", limit_bytes, "must be greater than 0"))
    if errors:
        raise status_invalid("PodLogOptions", "", errors)
    container = req.param("container") or None
    timestamps = flag(req.param("timestamps"))
    previous = flag(req.param("previous"))
    if flag(req.param("follow")) and not previous:
        stop = threading.Event()
        lines = source.follow_logs(
            info.namespace,
            info.name,
            container,
            tail_lines=tail,
            since_seconds=since,
            timestamps=timestamps,
            stop=stop,
        )
        # follow_logs raises its errors (no such container ...) at the call, before the stream starts;
        # waiting here for a first line would hold back the response headers of a quiet container.

        def chunks() -> Iterator[bytes]:
            for line in lines:
                yield (line + "\n").encode()

        return StreamResponse(200, chunks(), "text/plain", close=stop.set)
    lines_now = source.logs(
        info.namespace,
        info.name,
        container,
        previous=previous,
        tail_lines=tail,
        since_seconds=since,
        timestamps=timestamps,
    )
    body = "".join(line + "\n" for line in lines_now).encode()
    if limit_bytes is not None:
        body = body[:limit_bytes]
    return Response(200, body, "text/plain")


def scale(req: Request, info: RequestInfo, rest: Rest, dry_run: bool) -> Response:
    """GET/PUT/PATCH deployments/NAME/scale: an autoscaling/v1 Scale view of spec.replicas."""
    rt = info.rt
    obj = rest.get(rt, info.namespace, info.name).load()
    if info.verb in ("update", "patch"):
        try:
            body = json.loads(req.body or b"{}")
        except ValueError as e:
            raise status_bad_request(f"error decoding scale: {e}") from None
        if info.verb == "patch":
            current = scale_view(rt, obj)
            media = (req.headers.get("Content-Type") or "").split(";")[0]
            if media == "application/json-patch+json":
                body = patches.json_patch(current, body)
            else:
                body = patches.merge_patch(current, body)
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise status_invalid(
                "Scale",
                info.name,
                [invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
                "autoscaling",
            )
        obj["spec"]["replicas"] = replicas
        manager = (req.param("fieldManager") or (req.headers.get("User-Agent") or "").split("/")[0])[:128]
        obj = rest.update(
            rt, info.namespace, info.name, obj, dry_run=dry_run, subresource="scale", manager=manager
        )
    return json_response(200, scale_view(rt, obj))


def scale_view(rt: ResourceType, obj: JSON) -> JSON:
    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector") or {}
    keep = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in keep if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()),
        },
    }
