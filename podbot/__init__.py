"""podbot: Slack chat-ops for Kubernetes pods."""

__version__ = "0.1.0"
