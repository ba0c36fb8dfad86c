"""auth.*, users.*, usergroups.*, team.* and apps.connections.open Web API methods."""

from __future__ import annotations

from podbot.localslack.api import Core, Method
from podbot.localslack.wire import ApiError, ApiRequest, ApiResult, paginate


def api_test(core: Core, req: ApiRequest) -> ApiResult:
    if req.str_arg("error"):
        raise ApiError(req.str_arg("error"))
    return ApiResult({"args": {k: v for k, v in req.args.items() if k != "token"}})


def auth_test(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    return ApiResult(
        {
            "url": ws.team.url,
            "team": ws.team.name,
            "user": ws.bot.name,
            "team_id": ws.team.id,
            "user_id": ws.bot.id,
            "bot_id": ws.bot.bot_id,
            "is_enterprise_install": False,
        }
    )


def users_info(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    user = ws.user_by_id(req.str_arg("user", required=True))
    if user is None or user.id == "USLACKBOT":
        raise ApiError("user_not_found")
    data = user.to_json(
        ws.team.id, include_locale=req.bool_arg("include_locale"), include_email=_emails(core)
    )
    return ApiResult({"user": data})


def _emails(core: Core) -> bool:
    """Slack shows ``profile.email`` only to apps granted users:read.email."""
    return "users:read.email" in core.workspace.scopes


def users_list(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    page, next_cursor = paginate(ws.users(), req, default_limit=200)
    locale = req.bool_arg("include_locale")
    members = [u.to_json(ws.team.id, include_locale=locale, include_email=_emails(core)) for u in page]
    return ApiResult(
        {"members": members, "cache_ts": int(ws.clock()), "response_metadata": {"next_cursor": next_cursor}}
    )


def users_lookup_by_email(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    email = req.str_arg("email", required=True).lower()
    user = next((u for u in ws.users() if u.email.lower() == email and not u.is_bot), None)
    if user is None:
        raise ApiError("users_not_found")
    return ApiResult({"user": user.to_json(ws.team.id, include_email=True)})


def usergroups_list(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    include_users = req.bool_arg("include_users")
    groups = [g.to_json(ws.team.id, include_users=include_users) for g in ws.usergroups()]
    return ApiResult({"usergroups": groups})


def usergroups_users_list(core: Core, req: ApiRequest) -> ApiResult:
    group = core.workspace.usergroup_by_id(req.str_arg("usergroup", required=True))
    if group is None:
        raise ApiError("no_such_subteam")
    return ApiResult({"users": list(group.users)})


def team_info(core: Core, req: ApiRequest) -> ApiResult:
    return ApiResult({"team": core.workspace.team.to_json()})


def apps_connections_open(core: Core, req: ApiRequest) -> ApiResult:
    return ApiResult({"url": core.socket_url()})


METHODS: dict[str, Method] = {
    "api.test": Method(api_test, frozenset({"bot", "app", "none"})),
    "auth.test": Method(auth_test),
    "users.info": Method(users_info, scope="users:read"),
    "users.list": Method(users_list, scope="users:read"),
    "users.lookupByEmail": Method(users_lookup_by_email, scope="users:read.email"),
    "usergroups.list": Method(usergroups_list, scope="usergroups:read"),
    "usergroups.users.list": Method(usergroups_users_list, scope="usergroups:read"),
    "team.info": Method(team_info, scope="team:read"),
    "apps.connections.open": Method(apps_connections_open, frozenset({"app"}), header_token=True),
}
