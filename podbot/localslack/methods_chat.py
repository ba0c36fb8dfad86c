"""chat.* and conversations.* Web API methods."""

from __future__ import annotations

from typing import Any

from podbot.localslack.api import Core, Method
from podbot.localslack.directory import Channel
from podbot.localslack.history import StoredMessage
from podbot.localslack.wire import ApiError, ApiRequest, ApiResult, paginate

JsonDict = dict[str, Any]


def _content_args(core: Core, req: ApiRequest, *, update: bool = False, require: bool = True) -> Any:
    return core.messaging.content(
        req.get("text"),
        req.json_arg("blocks", bad_format="invalid_blocks_format"),
        req.json_arg("attachments", bad_format="invalid_attachments"),
        update=update,
        require=require,
    )


def post_message(core: Core, req: ApiRequest) -> ApiResult:
    messaging = core.messaging
    channel = messaging.channel_for_post(req.str_arg("channel"))
    content = _content_args(core, req)
    thread = messaging.thread_parent(channel, req.str_arg("thread_ts"))
    metadata = req.json_arg("metadata", bad_format="invalid_metadata_format")
    message = messaging.post(
        channel,
        content,
        thread_ts=thread,
        reply_broadcast=req.bool_arg("reply_broadcast"),
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    data = core.workspace.message_json(message)
    return ApiResult({"channel": channel.id, "ts": message.ts, "message": data})


def post_ephemeral(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    channel = core.messaging.channel_for_post(req.str_arg("channel"), user_dm=False)
    user = ws.user_by_id(req.str_arg("user", required=True))
    if user is None:
        raise ApiError("user_not_found")
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    content = _content_args(core, req)
    thread = core.messaging.thread_parent(channel, req.str_arg("thread_ts"))
    message = core.messaging.post(
        channel, content, thread_ts=thread, ephemeral_to=user.id, origin="chat.postEphemeral"
    )
    return ApiResult({"message_ts": message.ts})


def _own_message(core: Core, req: ApiRequest, *, cant: str) -> tuple[Channel, StoredMessage]:
    ws = core.workspace
    channel = core.messaging.channel_by_id(req.str_arg("channel", required=True))
    core.messaging.check_bot_access(channel)
    message = ws.history.get(channel.id, req.str_arg("ts", required=True))
    if message is None or message.ephemeral_to is not None:
        raise ApiError("message_not_found")  # ephemeral messages cannot be edited or deleted by ts
    if message.user != ws.bot.id:
        raise ApiError(cant)
    return channel, message


def update(core: Core, req: ApiRequest) -> ApiResult:
    channel, message = _own_message(core, req, cant="cant_update_message")
    content = _content_args(core, req, update=True, require=False)
    if not content.text and content.blocks is None and content.attachments is None:
        raise ApiError("no_text")
    with core.workspace.lock:
        core.messaging.replace(message, content, edited_by=core.workspace.bot.id)
        data = core.workspace.message_json(message)
    return ApiResult({"channel": channel.id, "ts": message.ts, "text": message.text, "message": data})


def delete(core: Core, req: ApiRequest) -> ApiResult:
    channel, message = _own_message(core, req, cant="cant_delete_message")
    core.workspace.history.change(message, deleted=True)
    return ApiResult({"channel": channel.id, "ts": message.ts})


def get_permalink(core: Core, req: ApiRequest) -> ApiResult:
    channel = core.messaging.channel_by_id(req.str_arg("channel", required=True))
    ts = req.str_arg("message_ts", required=True)
    if core.workspace.history.get(channel.id, ts) is None:
        raise ApiError("message_not_found")
    link = f"https://{core.workspace.team.domain}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    return ApiResult({"channel": channel.id, "permalink": link})


# --- conversations ----------------------------------------------------------------------------


def _readable_channel(core: Core, req: ApiRequest) -> Channel:
    channel = core.messaging.channel_by_id(req.str_arg("channel", required=True))
    if channel.is_private and core.workspace.bot.id not in channel.members:
        raise ApiError("channel_not_found")
    return channel


def _ts_arg(req: ApiRequest, key: str, default: float) -> float:
    raw = req.str_arg(key)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ApiError(f"invalid_ts_{key}") from None


def history(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    channel = _readable_channel(core, req)
    if ws.bot.id not in channel.members:
        raise ApiError("not_in_channel")
    oldest = _ts_arg(req, "oldest", 0.0)
    latest = _ts_arg(req, "latest", float("inf"))
    inclusive = req.bool_arg("inclusive")

    def in_range(ts: str) -> bool:
        value = float(ts)
        return (oldest <= value <= latest) if inclusive else (oldest < value < latest)

    with ws.lock:
        top = [
            m
            for m in ws.history.in_channel(channel.id)
            if m.ephemeral_to is None
            and (m.thread_ts in (None, m.ts) or m.reply_broadcast)
            and in_range(m.ts)
        ]
        top.reverse()  # newest first, as Slack returns them
        tier = core.history_tier
        page, next_cursor = paginate(top, req, default_limit=tier.history_page, max_limit=tier.max_page)
        messages = [ws.message_json(m) for m in page]
    return ApiResult(
        {
            "messages": messages,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }
    )


def replies(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    channel = _readable_channel(core, req)
    if ws.bot.id not in channel.members:
        raise ApiError("not_in_channel")
    with ws.lock:
        parent = ws.history.get(channel.id, req.str_arg("ts", required=True))
        if parent is None or parent.ephemeral_to is not None:
            raise ApiError("thread_not_found")
        root = ws.history.get(channel.id, parent.thread_ts or parent.ts)
        if root is None:  # an orphaned reply: its parent was deleted
            raise ApiError("thread_not_found")
        thread = [root, *ws.history.replies(channel.id, root.ts)]
        tier = core.history_tier
        page, next_cursor = paginate(thread, req, default_limit=tier.replies_page, max_limit=tier.max_page)
        messages = [ws.message_json(m) for m in page]
    return ApiResult(
        {
            "messages": messages,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }
    )


def info(core: Core, req: ApiRequest) -> ApiResult:
    channel = _readable_channel(core, req)
    data = channel.to_json(
        viewer=core.workspace.bot.id, include_num_members=req.bool_arg("include_num_members")
    )
    return ApiResult({"channel": data})


def members(core: Core, req: ApiRequest) -> ApiResult:
    channel = _readable_channel(core, req)
    page, next_cursor = paginate(sorted(channel.members), req)
    return ApiResult({"members": page, "response_metadata": {"next_cursor": next_cursor}})


def list_conversations(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    types = set((req.str_arg("types") or "public_channel").split(","))
    exclude_archived = req.bool_arg("exclude_archived")
    bot = ws.bot.id

    def wanted(c: Channel) -> bool:
        if exclude_archived and c.is_archived:
            return False
        if c.is_im:
            return "im" in types and bot in c.members
        if c.is_private:
            return "private_channel" in types and bot in c.members
        return "public_channel" in types

    page, next_cursor = paginate([c for c in ws.channels() if wanted(c)], req)
    return ApiResult(
        {"channels": [c.to_json(viewer=bot) for c in page], "response_metadata": {"next_cursor": next_cursor}}
    )


def open_conversation(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    if req.str_arg("channel"):
        return info(core, req)
    users = [u for u in req.str_arg("users").split(",") if u]
    if len(users) != 1:
        raise ApiError("not_enough_users" if not users else "too_many_users")
    user = ws.user_by_id(users[0])
    if user is None or user.is_bot:
        raise ApiError("user_not_found")
    channel = ws.im_channel(user.id)
    data = channel.to_json(viewer=ws.bot.id) if req.bool_arg("return_im") else {"id": channel.id}
    return ApiResult({"no_op": False, "already_open": False, "channel": data})


METHODS: dict[str, Method] = {
    "chat.postMessage": Method(post_message, scope="chat:write"),
    "chat.postEphemeral": Method(post_ephemeral, scope="chat:write"),
    "chat.update": Method(update, scope="chat:write"),
    "chat.delete": Method(delete, scope="chat:write"),
    "chat.getPermalink": Method(get_permalink),
    "conversations.history": Method(history, scope="channels:history"),
    "conversations.replies": Method(replies, scope="channels:history"),
    "conversations.info": Method(info, scope="channels:read"),
    "conversations.members": Method(members, scope="channels:read"),
    "conversations.list": Method(list_conversations, scope="channels:read"),
    "conversations.open": Method(open_conversation, scope="im:write"),
}
