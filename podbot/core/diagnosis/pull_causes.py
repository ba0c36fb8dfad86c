"""Root causes of image pull failures, read from the kubelet's / runtime's error text.

The container's waiting reason only says *that* a pull failed (``ErrImagePull``,
``ImagePullBackOff``); *why* is in the error text of the kubelet's ``Failed`` event (and of the
``ErrImagePull`` waiting message). Docker, containerd and CRI-O word the same failure differently;
tests/data/pull_errors.yaml holds real messages from public reports, each with its source, and
drives the tests of this module.

Reading the text gives a *signal*; some signals need what podbot knows about the pod's registry
credentials to become a cause:

* "no basic auth credentials", "failed to fetch anonymous token": the runtime sent no login.
* 401/403, "unauthorized", "authentication required": the registry refused (no login, or a bad one).
* "pull access denied ... repository does not exist or may require 'docker login'",
  "requested access to the resource is denied", "insufficient_scope": ambiguous — registries answer
  the same for a repository that does not exist and for a private one without a valid login.

Resolution (``classify``):

* the pod offers credentials for that registry -> a refusal is CREDENTIALS_REJECTED, the ambiguous
  denial is NOT_FOUND (the login was sent, so the name is wrong or the login lacks access);
* its named secret exists but has no entry for the registry -> SECRET_WITHOUT_REGISTRY;
* the pod names a secret that does not exist -> CREDENTIALS_MISSING whatever the wording (Docker
  Hub's "pull access denied ... may require authorization" too): the kubelet had no login to send,
  and the pod says one is needed; the denial is flagged ``ambiguous``;
* no imagePullSecrets at all -> CREDENTIALS_MISSING, except the ambiguous denial from Docker Hub,
  which is NOT_FOUND: Hub repositories are public unless made private, and official ``library/``
  images always are, so a typo is far likelier.
* the credentials were written after the last failed attempt (``credentials_newer``) and have an
  entry for the registry -> CREDENTIALS_UPDATED: whatever the old error said, the kubelet has not
  tried them yet and will at its next attempt (it reads pull secrets on every pull).
  When no login was offered and the registry refused or denied, the result is flagged
  ``ambiguous``, so the message can add "or the image name is wrong" (not for "no basic auth
  credentials": there a login is needed first, whatever the name).
* credentials unknown (podbot could not list the namespace's secrets): the pod names a secret, so
  a refusal is taken as CREDENTIALS_REJECTED and the ambiguous denial as NOT_FOUND; "no login was
  sent" is CREDENTIALS_MISSING.

Node-level credentials (the kubelet's config.json, ECR/GCR/ACR credential providers) are invisible
to podbot; a cluster relying on them may see CREDENTIALS_MISSING findings phrased for secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from podbot.core.diagnosis.credentials import DOCKER_HUB, CredentialState


class PullCause(Enum):
    CREDENTIALS_MISSING = "credentials_missing"
    CREDENTIALS_REJECTED = "credentials_rejected"
    CREDENTIALS_UPDATED = "credentials_updated"  # a login written after the last failed pull, not tried yet
    SECRET_WITHOUT_REGISTRY = "secret_without_registry"  # noqa: S105 - an enum value
    NOT_FOUND = "not_found"
    PLATFORM_MISMATCH = "platform_mismatch"  # the tag exists, but not for this node's OS/arch
    UNREACHABLE_DNS = "unreachable_dns"
    UNREACHABLE_TIMEOUT = "unreachable_timeout"
    UNREACHABLE_REFUSED = "unreachable_refused"
    RATE_LIMITED = "rate_limited"
    TLS_MISMATCH = "tls_mismatch"
    INVALID_NAME = "invalid_name"
    NEVER_PULL = "never_pull"
    UNKNOWN = "unknown"


class PullSignal(Enum):
    """What the error text alone says."""

    NO_LOGIN_SENT = "no_login_sent"
    REFUSED_LOGIN = "refused_login"
    DENIED_OR_NOT_FOUND = "denied_or_not_found"
    FINAL = "final"  # the text names the cause by itself


# Order matters: network failures are checked before auth words because a failed token fetch
# ("failed to fetch anonymous token: ... i/o timeout") is a network problem, and the ambiguous
# Docker Hub denial is checked before plain "not found".
_FINAL_PATTERNS: tuple[tuple[PullCause, tuple[str, ...]], ...] = (
    (
        PullCause.INVALID_NAME,
        (
            "invalid reference format",
            "couldn't parse image",
            "failed to apply default image tag",
            "repository name must be lowercase",
        ),
    ),
    (PullCause.NEVER_PULL, ("pull policy of never",)),
    (
        PullCause.RATE_LIMITED,
        ("toomanyrequests", "429 too many requests", "pull rate limit", "rate limit exceeded"),
    ),
    (
        PullCause.PLATFORM_MISMATCH,
        ("no match for platform", "no matching manifest for", "no supported platform"),
    ),
    (
        PullCause.UNREACHABLE_DNS,
        ("no such host", "server misbehaving", "temporary failure in name resolution", "dial tcp: lookup "),
    ),
    (PullCause.UNREACHABLE_REFUSED, ("connection refused",)),
    (PullCause.UNREACHABLE_TIMEOUT, ("tls handshake timeout",)),
    (
        PullCause.TLS_MISMATCH,
        (
            "x509:",
            "server gave http response to https client",
            "tls: ",
            "certificate signed by unknown authority",
        ),
    ),
    (
        PullCause.UNREACHABLE_TIMEOUT,
        (
            "i/o timeout",
            "client.timeout exceeded",
            "context deadline exceeded",
            "deadlineexceeded",
            "connection timed out",
            "no route to host",
            "network is unreachable",
            "request canceled while waiting for connection",
        ),
    ),
)
_NO_LOGIN = ("no basic auth credentials", "failed to fetch anonymous token")
_AMBIGUOUS = (
    "pull access denied",
    "may require 'docker login'",
    "may require authorization",
    "requested access to the resource is denied",
    "does not exist or no pull access",
    "insufficient_scope",
    "verify that it exists and you have permission",
)
_REFUSED = (
    "401 unauthorized",
    "unauthorized",
    "authentication required",
    "403 forbidden",
    "403 (forbidden)",
    "access forbidden",
    "incorrect username or password",
    "failed to fetch oauth token",
    "authorization token has expired",
    "not authorized",
    "denied:",
)
_NOT_FOUND = ("manifest unknown", "not found", "name unknown", "404")


def read_signal(message: str) -> tuple[PullSignal, PullCause]:
    """The signal in an error text and, for FINAL signals, the cause (UNKNOWN if none matched)."""
    text = message.lower()
    for cause, needles in _FINAL_PATTERNS:
        if any(n in text for n in needles):
            return PullSignal.FINAL, cause
    if any(n in text for n in _NO_LOGIN):
        return PullSignal.NO_LOGIN_SENT, PullCause.UNKNOWN
    if any(n in text for n in _AMBIGUOUS):
        return PullSignal.DENIED_OR_NOT_FOUND, PullCause.UNKNOWN
    if any(n in text for n in _REFUSED):
        return PullSignal.REFUSED_LOGIN, PullCause.UNKNOWN
    if any(n in text for n in _NOT_FOUND):
        return PullSignal.FINAL, PullCause.NOT_FOUND
    return PullSignal.FINAL, PullCause.UNKNOWN


@dataclass(frozen=True, slots=True)
class PullVerdict:
    cause: PullCause
    ambiguous: bool = False  # no login was offered: the registry may also mean "no such image"


_WAITING_REASONS = {"InvalidImageName": PullCause.INVALID_NAME, "ErrImageNeverPull": PullCause.NEVER_PULL}
PULL_WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
        "RegistryUnavailable",
    }
)


def classify(
    message: str,
    credentials: CredentialState,
    registry: str,
    *,
    waiting_reason: str = "",
    credentials_newer: bool = False,
) -> PullVerdict:
    """The root cause of one failed pull (see the module docstring for the rules)."""
    if waiting_reason in _WAITING_REASONS:
        return PullVerdict(_WAITING_REASONS[waiting_reason])
    signal, cause = read_signal(message)
    if signal is PullSignal.FINAL:
        return PullVerdict(cause)
    if credentials_newer and credentials is CredentialState.HAS_ENTRY:
        return PullVerdict(PullCause.CREDENTIALS_UPDATED)
    if credentials is CredentialState.SECRETS_ABSENT:
        return PullVerdict(PullCause.CREDENTIALS_MISSING, ambiguous=signal is not PullSignal.NO_LOGIN_SENT)
    no_login = credentials is CredentialState.NO_SECRETS
    if credentials is CredentialState.NO_ENTRY:
        return PullVerdict(PullCause.SECRET_WITHOUT_REGISTRY)
    if signal is PullSignal.NO_LOGIN_SENT:
        if credentials is CredentialState.HAS_ENTRY:
            # The runtime sent nothing although a secret has an entry: the entry does not apply
            # (path prefix, wrong secret type); a fresh entry for this exact host fixes it.
            return PullVerdict(PullCause.SECRET_WITHOUT_REGISTRY)
        # The registry demands a login before anything else: whether or not the image exists,
        # credentials come first, so this is not flagged ambiguous.
        return PullVerdict(PullCause.CREDENTIALS_MISSING)
    if signal is PullSignal.REFUSED_LOGIN:
        if no_login:
            return PullVerdict(PullCause.CREDENTIALS_MISSING, ambiguous=True)
        return PullVerdict(PullCause.CREDENTIALS_REJECTED)
    # DENIED_OR_NOT_FOUND
    if no_login and registry != DOCKER_HUB:
        return PullVerdict(PullCause.CREDENTIALS_MISSING, ambiguous=True)
    return PullVerdict(PullCause.NOT_FOUND, ambiguous=no_login)
