"""Pull errors in the words the container runtime uses, as the kubelet passes them on.

containerd 1.7 (``dialect: containerd``) and dockerd (``dialect: docker``, as in the seed notes)
word the same failures differently; both arrive wrapped as a CRI error
(``rpc error: code = ... desc = ...``), which is what ``Failed to pull image "x": ...`` events and
ErrImagePull messages show.
"""

from __future__ import annotations

from podbot.sim.images.model import Registry, ResolvedImage
from podbot.sim.images.reference import ImageReference

DOCKER_RATE_LIMIT = (
    "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
    "authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)


class Wording:
    """Error texts for one registry's dialect."""

    def __init__(self, registry: Registry, ref: ImageReference, full: str) -> None:
        self.registry = registry
        self.ref = ref
        self.full = full
        self.url = registry.manifest_url(ref)

    def _containerd(self, detail: str, *, code: str = "Unknown", resolve: bool = True) -> str:
        inner = f'failed to resolve reference "{self.full}": {detail}' if resolve else detail
        return f'rpc error: code = {code} desc = failed to pull and unpack image "{self.full}": {inner}'

    @staticmethod
    def _docker(detail: str) -> str:
        return f"rpc error: code = Unknown desc = Error response from daemon: {detail}"

    def _familiar(self) -> str:
        name = self.ref.familiar_name
        if self.ref.digest:
            return f"{name}@{self.ref.digest}"
        return f"{name}:{self.ref.effective_tag}"

    def missing_credentials(self) -> str:
        if self.registry.dialect == "docker":
            return self._docker(f"Get {self.url}: no basic auth credentials")
        return self._containerd(f"unexpected status from HEAD request to {self.url}: 401 Unauthorized")

    def wrong_credentials(self) -> str:
        if self.registry.dialect == "docker":
            if self.registry.auth == "token":
                return self._docker(f"Get {self.url}: unauthorized: incorrect username or password")
            return self._docker(f"Get {self.url}: unauthorized: authentication required")
        if self.registry.auth == "token":
            scope = f"repository%3A{self.ref.path.replace('/', '%2F')}%3Apull"
            token_url = (
                f"https://auth.{self.registry.host}/token?scope={scope}&service=registry.{self.registry.host}"
            )
            return self._containerd(
                "failed to authorize: failed to fetch oauth token: unexpected status from GET request to "
                f"{token_url}: 401 Unauthorized"
            )
        return self._containerd(f"unexpected status from HEAD request to {self.url}: 401 Unauthorized")

    def access_denied(self) -> str:
        if self.registry.dialect == "docker":
            return self._docker(
                f"pull access denied for {self.ref.familiar_name}, repository does not exist or may require "
                "'docker login': denied: requested access to the resource is denied"
            )
        return self._containerd(
            "pull access denied, repository does not exist or may require authorization: server message: "
            "insufficient_scope: authorization failed"
        )

    def not_found(self) -> str:
        if self.registry.dialect == "docker":
            return self._docker(
                f"manifest for {self._familiar()} not found: manifest unknown: manifest unknown"
            )
        return self._containerd(f"{self.full}: not found", code="NotFound")

    def rate_limited(self, image: ResolvedImage) -> str:
        if self.registry.dialect == "docker":
            return self._docker(DOCKER_RATE_LIMIT)
        digest_url = f"{self.registry.scheme}://{self.registry.endpoint}/v2/{self.ref.path}/manifests/{_digest_of(image)}"
        return self._containerd(
            f"failed to copy: httpReadSeeker: failed open: unexpected status code {digest_url}: "
            f"429 Too Many Requests - Server message: {DOCKER_RATE_LIMIT}",
            resolve=False,
        )


def _digest_of(image: ResolvedImage) -> str:
    return image.image_id.rsplit("@", 1)[1]


def unknown_host_error(ref: ImageReference, full: str) -> str:
    host = ref.domain.split(":")[0]
    url = f"https://{ref.domain}/v2/{ref.path}/manifests/{ref.digest or ref.effective_tag}"
    if host.replace(".", "").isdigit() or host == "localhost":
        # An address nobody answers on: the connection attempt times out (or is refused locally).
        port = ref.domain.split(":")[1] if ":" in ref.domain else "443"
        target = "127.0.0.1" if host == "localhost" else host
        reason = "connect: connection refused" if host == "localhost" else "i/o timeout"
        detail = f'failed to do request: Head "{url}": dial tcp {target}:{port}: {reason}'
    else:
        detail = f'failed to do request: Head "{url}": dial tcp: lookup {host}: no such host'
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": '
        f'failed to resolve reference "{full}": {detail}'
    )


def transport_error(registry: Registry, ref: ImageReference, full: str) -> tuple[str, float] | None:
    """(error, seconds until it happens) for a registry marked broken, else None."""
    failure = registry.failure
    if failure == "none":
        return None
    host = registry.endpoint.split(":")[0]
    port = (
        registry.endpoint.split(":")[1]
        if ":" in registry.endpoint
        else ("443" if registry.scheme == "https" else "80")
    )
    url = registry.manifest_url(ref, scheme="https" if failure == "http-to-https" else None)
    ping = f"https://{registry.endpoint}/v2/"
    if registry.dialect == "docker":
        detail, duration = {
            "no-such-host": (f"Get {ping}: dial tcp: lookup {host}: no such host", 0.05),
            "timeout": (
                f"Get {ping}: net/http: request canceled while waiting for connection "
                "(Client.Timeout exceeded while awaiting headers)",
                15.0,
            ),
            "refused": (f"Get {ping}: dial tcp {registry.address}:{port}: connect: connection refused", 0.01),
            "http-to-https": (f"Get {ping}: http: server gave HTTP response to HTTPS client", 0.05),
            "x509": (f"Get {ping}: x509: certificate signed by unknown authority", 0.05),
        }[failure]
        return f"rpc error: code = Unknown desc = Error response from daemon: {detail}", duration
    detail, duration = {
        "no-such-host": (f"dial tcp: lookup {host}: no such host", 0.05),
        "timeout": (f"dial tcp {registry.address}:{port}: i/o timeout", 30.0),
        "refused": (f"dial tcp {registry.address}:{port}: connect: connection refused", 0.01),
        "http-to-https": ("http: server gave HTTP response to HTTPS client", 0.05),
        "x509": ("tls: failed to verify certificate: x509: certificate signed by unknown authority", 0.05),
    }[failure]
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": '
        f'failed to resolve reference "{full}": failed to do request: Head "{url}": {detail}'
    ), duration
