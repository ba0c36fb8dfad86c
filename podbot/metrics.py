"""Prometheus metrics, defined once. ``/metrics`` serves this registry.

Labels stay low-cardinality (verb, outcome, method, status class): never names or user ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

COMMANDS = Counter(
    "podbot_commands_total",
    "Slash commands handled, by verb and outcome.",
    ["verb", "outcome"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "podbot_ack_seconds",
    "Time from receiving a Slack request to acknowledging it.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
KUBE_SECONDS = Histogram(
    "podbot_kubernetes_request_seconds",
    "Kubernetes API request latency.",
    ["method", "code"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
KUBE_ERRORS = Counter(
    "podbot_kubernetes_errors_total",
    "Kubernetes API requests that failed, by kind of failure.",
    ["kind"],
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "podbot_slack_api_errors_total",
    "Slack Web API calls that returned an error.",
    ["method", "error"],
    registry=REGISTRY,
)
KUBE_RETRIES = Counter(
    "podbot_kubernetes_retries_total",
    "Kubernetes API reads retried, by the status that was retried (or connection).",
    ["reason"],
    registry=REGISTRY,
)
SLACK_RETRIES = Counter(
    "podbot_slack_api_retries_total",
    "Slack Web API calls retried (rate limits, connection errors).",
    ["reason"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "podbot_alerts_total",
    "Real-time alert messages, by event (posted, updated, resolved).",
    ["event"],
    registry=REGISTRY,
)
DIGESTS = Counter(
    "podbot_digests_total",
    "Scheduled digests, by kind and outcome (posted, skipped, missed, failed).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
