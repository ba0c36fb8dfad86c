"""The pure core: domain model, results, policy, names, manifests, pods, diagnosis, digests.

Nothing here does I/O: no network, no database, no Slack, no Kubernetes client."""
