"""``create`` with an inline manifest; ``secret docker-registry`` (also spelled ``create secret ...``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from podbot.commands import flags, resources
from podbot.commands.flags import Flag, Kind
from podbot.commands.scope import dry_run, where
from podbot.commands.tokens import Token, word
from podbot.core import manifests, names
from podbot.core.messages import Problem
from podbot.core.model import (
    AttachPullSecret,
    CreateFromManifest,
    CreateRegistrySecret,
    ReplaceRegistryLogin,
    Secret,
)

CREATE_FLAGS = (flags.NAMESPACE, flags.CONTEXT, flags.DRY_RUN, Flag("filename", short="f"))
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def parse_create(
    tokens: Sequence[Token], manifest: str | None, *, locale: str | None
) -> CreateFromManifest | CreateRegistrySecret | ReplaceRegistryLogin | AttachPullSecret:
    # A first look at the leading words decides between "create secret ..." and a manifest.
    probe = flags.parse(tokens, (*CREATE_FLAGS, *SECRET_FLAGS), lenient=True)
    if probe.positionals:
        first = probe.positionals[0]
        what = word(first.text)
        if what in resources.SECRET_WORDS:
            if manifest is not None:
                problem = Problem("commands.error.secret_with_manifest")
                problem.verb = "secret"
                raise problem
            return parse_secret([t for t in tokens if t is not first], spelled="create secret")
        _refuse_kind(first.text)
    args = flags.parse(tokens, CREATE_FLAGS)
    if args.positionals:
        _refuse_kind(args.positionals[0].text)
    if args.rest:
        raise Problem("commands.error.unexpected_args", verb="create")
    filenames = args.many("filename")
    if len(filenames) > 1:
        raise Problem("commands.error.create_many_files")
    if filenames and filenames[0] != "-":
        key = "commands.error.create_url" if _URL.match(filenames[0]) else "commands.error.create_file"
        raise Problem(key, file=filenames[0])
    loc = where(args)
    if manifest is not None:
        documents = manifests.load_manifests(manifest, locale=locale)
        if loc.namespace is not None:
            for doc in documents:
                if doc.namespace is not None and doc.namespace != loc.namespace:
                    raise Problem(
                        "commands.error.create_namespace_mismatch",
                        document=doc.index,
                        manifest_namespace=doc.namespace,
                        namespace=loc.namespace,
                    )
    return CreateFromManifest(manifest=manifest, where=loc, dry_run=dry_run(args))


def _refuse_kind(text: str) -> None:
    what = word(text)
    if resources.base(what) in resources.POD_WORDS:
        raise Problem("commands.error.create_pod")
    if what.endswith(":") or what.startswith(("{", "apiversion", "kind")):
        raise Problem("commands.error.create_manifest_same_line")
    raise Problem("commands.error.create_kind", kind=text)


# --- secret docker-registry ------------------------------------------------------------------

SECRET_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    flags.DRY_RUN,
    Flag("docker-server"),
    Flag("docker-username"),
    Flag("docker-password", sensitive=True),
    Flag("docker-email"),
    Flag("replace", Kind.BOOL),  # podbot's own: update the login in the existing secret, in place
)
ATTACH_FLAGS = (
    flags.NAMESPACE,
    flags.CONTEXT,
    flags.DRY_RUN,
    Flag("service-account", aliases=("serviceaccount",)),
)
ATTACH = "attach"
_FILES = "commands.error.secret_from_file"
SECRET_REFUSED = {"from-file": _FILES, "from-literal": _FILES, "from-env-file": _FILES}
# kubectl's default registry for "create secret docker-registry" without --docker-server.
DOCKER_HUB = "https://index.docker.io/v1/"
SECRET_TYPES = ("docker-registry",)
_SERVER = re.compile(
    r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?"
    r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<path>/[^\s]*)?$"
)


def parse_secret(
    tokens: Sequence[Token], *, spelled: str = "secret"
) -> CreateRegistrySecret | ReplaceRegistryLogin | AttachPullSecret:
    try:
        return _parse_secret(tokens, spelled)
    except Problem as problem:
        problem.verb = problem.verb or "secret"
        raise


def _parse_secret(
    tokens: Sequence[Token], spelled: str
) -> CreateRegistrySecret | ReplaceRegistryLogin | AttachPullSecret:
    # The type comes first: "secret generic x --from-literal=..." is about "generic", not the flag.
    probe = flags.parse(tokens, SECRET_FLAGS, lenient=True)
    if probe.positionals and spelled == "secret" and word(probe.positionals[0].text) == ATTACH:
        return _parse_attach(tokens)
    if probe.positionals and word(probe.positionals[0].text) not in SECRET_TYPES:
        raise Problem("commands.error.secret_type", spelled=spelled, type=probe.positionals[0].text)
    args = flags.parse(tokens, SECRET_FLAGS, refused=SECRET_REFUSED)
    texts = [t.text for t in args.positionals]
    if not texts:
        raise Problem("commands.error.secret_needs_type", spelled=spelled)
    if word(texts[0]) not in SECRET_TYPES:
        raise Problem("commands.error.secret_type", spelled=spelled, type=texts[0])
    if len(texts) < 2:
        raise Problem("commands.error.secret_needs_name", spelled=spelled)
    # Never echo the extra words: a password typed without its flag would be one of them.
    if len(texts) > 2 or args.rest:
        raise Problem("commands.error.secret_extra_args", spelled=spelled)
    name = names.secret_name(texts[1])
    username = args.one("docker-username")
    replace = args.switch("replace")
    if not username and not (replace and username is None):  # replacing: the dialog asks for it
        raise Problem("commands.error.secret_needs_username")
    password = args.one("docker-password")
    if password is not None and not password:
        raise Problem("commands.error.secret_empty_password")
    server = args.one("docker-server")
    email = args.one("docker-email")
    if email is not None and (not email or any(c.isspace() for c in email)):
        raise Problem("commands.error.secret_email", email=email)
    if replace:
        return ReplaceRegistryLogin(
            name=name,
            server=_server(server) if server is not None else DOCKER_HUB,
            username=_username(username) if username else "",
            password=Secret(password) if password is not None else None,
            email=email,
            where=where(args),
            dry_run=dry_run(args),
        )
    assert username is not None
    return CreateRegistrySecret(
        name=name,
        server=_server(server) if server is not None else DOCKER_HUB,
        username=_username(username),
        password=Secret(password) if password is not None else None,
        email=email,
        where=where(args),
        dry_run=dry_run(args),
    )


def _parse_attach(tokens: Sequence[Token]) -> AttachPullSecret:
    """``secret attach NAME [--service-account=SA]``: add NAME to the account's imagePullSecrets."""
    args = flags.parse(tokens, ATTACH_FLAGS)
    texts = [t.text for t in args.positionals][1:]
    if not texts:
        raise Problem("commands.error.attach_needs_name")
    if len(texts) > 1 or args.rest:
        raise Problem("commands.error.attach_extra_args")
    account = args.one("service-account") or "default"
    errors = names.subdomain_errors(account)
    if errors:
        raise Problem("commands.error.invalid_service_account", name=account, reason=errors[0])
    return AttachPullSecret(
        name=names.secret_name(texts[0]),
        service_account=account,
        where=where(args),
        dry_run=dry_run(args),
    )


def _server(value: str) -> str:
    match = _SERVER.match(value) if value.isascii() else None
    if match is None:
        raise Problem("commands.error.secret_server", server=value)
    scheme = match.group("scheme")
    if scheme is not None and scheme.lower() not in ("http", "https"):
        raise Problem("commands.error.secret_server", server=value)
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise Problem("commands.error.secret_server", server=value)
    return value


def _username(value: str) -> str:
    if any(c.isspace() for c in value) or ":" in value:
        # The registry auth string is "user:password" base64: a ":" in the user name breaks it.
        raise Problem("commands.error.secret_username", username=value)
    return value
