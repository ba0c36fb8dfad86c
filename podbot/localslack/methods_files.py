"""files.getUploadURLExternal, files.completeUploadExternal and files.info Web API methods.

The bytes step (POST to ``upload_url``) is served by the HTTP server; see ``Files.receive``.
"""

from __future__ import annotations

from typing import Any

from podbot.localslack.api import Core, Method
from podbot.localslack.files import file_json
from podbot.localslack.messaging import Content
from podbot.localslack.wire import ApiError, ApiRequest, ApiResult

MAX_UPLOAD_BYTES = 1_000_000_000  # slack_sdk's MAX_V2_FILE_SIZE


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", extra={"response_metadata": {"messages": [f"[ERROR] {message}"]}})


def get_upload_url(core: Core, req: ApiRequest) -> ApiResult:
    filename = req.str_arg("filename", required=True)
    length = req.int_arg("length", -1)
    if length < 0:
        raise _invalid("missing required field: length")
    if length > MAX_UPLOAD_BYTES:
        raise _invalid("length exceeds the maximum file size")
    stored = core.workspace.files.reserve(
        core.workspace.bot.id,
        filename,
        length,
        alt_txt=req.str_arg("alt_txt"),
        snippet_type=req.str_arg("snippet_type"),
    )
    return ApiResult({"upload_url": core.origin + stored.upload_path, "file_id": stored.id})


def _file_entries(req: ApiRequest) -> list[dict[str, Any]]:
    files = req.json_arg("files")
    if not isinstance(files, list) or not files:
        raise _invalid("files must be a non-empty array of {id, title}")
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise _invalid("each file needs an id")
    return files


def complete_upload(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    entries = _file_entries(req)
    targets = [c for c in (req.str_arg("channels") or req.str_arg("channel_id")).split(",") if c]
    if req.str_arg("thread_ts") and len(targets) > 1:
        raise _invalid("thread_ts needs exactly one channel")
    channels = [core.messaging.check_bot_access(core.messaging.channel_by_id(ref)) for ref in targets]
    comment = req.str_arg("initial_comment")
    if len(comment) > core.limits.message_text:
        raise ApiError("msg_too_long")
    with ws.lock:
        for entry in entries:  # validate everything before completing anything
            stored = ws.files.reserved(entry["id"])
            if stored is None or stored.content is None or stored.completed:
                raise ApiError("file_not_found")
        threads = [core.messaging.thread_parent(c, req.str_arg("thread_ts")) for c in channels]
        completed = [ws.files.complete(e["id"], str(e.get("title") or "")) for e in entries]
        for channel, thread in zip(channels, threads, strict=True):
            for stored in completed:
                ws.files.share(stored, channel.id)
            core.messaging.post(
                channel,
                Content(comment, None, None),
                thread_ts=thread,
                origin="files.completeUploadExternal",
                files=[f.id for f in completed],
            )
        data = [{"id": f.id, "title": f.title} for f in completed]
    return ApiResult({"files": data})


def info(core: Core, req: ApiRequest) -> ApiResult:
    ws = core.workspace
    stored = ws.files.get(req.str_arg("file", required=True))
    if stored is None:
        raise ApiError("file_not_found")
    data = file_json(stored, team_id=ws.team.id, origin=core.origin, domain=ws.team.domain)
    content = stored.content.decode("utf-8", errors="replace") if stored.content is not None else ""
    if data["editable"]:
        data["content"] = content  # files.info carries the text of snippets and text files
    return ApiResult({"file": data, "comments": [], "response_metadata": {"next_cursor": ""}})


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": Method(get_upload_url, scope="files:write"),
    "files.completeUploadExternal": Method(complete_upload, scope="files:write"),
    "files.info": Method(info, scope="files:read"),
}
