"""Uploaded files: the external upload flow and files a user attaches in a modal.

files.getUploadURLExternal reserves a file id and an upload URL; the bytes are POSTed to that
URL; files.completeUploadExternal finalizes (once) and optionally shares into a channel.
Files that are reserved but never completed are not visible anywhere, as in Slack.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podbot.localslack.wire import ApiError

JsonDict = dict[str, Any]

_FILETYPES = {
    ".yaml": ("yaml", "YAML"),
    ".yml": ("yaml", "YAML"),
    ".json": ("json", "JSON"),
    ".txt": ("text", "Plain Text"),
    ".log": ("text", "Plain Text"),
    ".md": ("markdown", "Markdown (raw)"),
    ".py": ("python", "Python"),
    ".sh": ("shell", "Shell"),
    ".csv": ("csv", "CSV"),
    ".png": ("png", "PNG"),
}


@dataclass
class StoredFile:
    id: str
    name: str
    user: str
    created: int
    length: int
    upload_path: str
    title: str = ""
    alt_txt: str = ""
    snippet_type: str = ""
    content: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.content or b"")

    def filetype(self) -> tuple[str, str]:
        if self.snippet_type:
            return self.snippet_type, self.snippet_type.capitalize()
        return _FILETYPES.get(os.path.splitext(self.name)[1].lower(), ("binary", "Binary"))

    def mimetype(self) -> str:
        guessed = mimetypes.guess_type(self.name)[0]
        if guessed:
            return guessed
        return (
            "text/plain"
            if self.filetype()[0] in ("yaml", "text", "markdown", "shell")
            else "application/octet-stream"
        )


class Files:
    """All files of a workspace. Thread-safe (shared workspace lock)."""

    def __init__(self, lock: threading.RLock, clock: Callable[[], float]) -> None:
        self._lock = lock
        self._clock = clock
        self._files: dict[str, StoredFile] = {}
        self._by_upload: dict[str, str] = {}
        self._counter = 0

    def reserve(
        self, user: str, name: str, length: int, *, alt_txt: str = "", snippet_type: str = ""
    ) -> StoredFile:
        with self._lock:
            self._counter += 1
            file_id = f"F{self._counter:04d}{secrets.token_hex(3).upper()}"
            path = f"/upload/v1/{secrets.token_urlsafe(24)}"
            stored = StoredFile(
                file_id,
                name,
                user,
                int(self._clock()),
                length,
                path,
                alt_txt=alt_txt,
                snippet_type=snippet_type,
            )
            self._files[file_id] = stored
            self._by_upload[path] = file_id
            return stored

    def receive(self, upload_path: str, data: bytes) -> StoredFile:
        with self._lock:
            file_id = self._by_upload.get(upload_path)
            if file_id is None:
                raise ApiError("invalid_upload_url", status=404)
            stored = self._files[file_id]
            if stored.completed:
                raise ApiError("file_already_completed", status=400)
            stored.content = data
            return stored

    def complete(self, file_id: str, title: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored.content is None:
                raise ApiError("file_not_found")
            if stored.completed:
                raise ApiError("file_not_found")
            stored.completed = True
            stored.title = title or stored.name
            return stored

    def add_user_file(self, user: str, name: str, content: bytes) -> StoredFile:
        """A file a person uploads through the Slack client (e.g. into a modal's file_input)."""
        stored = self.reserve(user, name, len(content))
        self.receive(stored.upload_path, content)
        return self.complete(stored.id, name)

    def reserved(self, file_id: str) -> StoredFile | None:
        """A file in any state, including reserved-but-not-completed uploads."""
        with self._lock:
            return self._files.get(file_id)

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            stored = self._files.get(file_id)
            return stored if stored is not None and stored.completed else None

    def share(self, stored: StoredFile, channel: str) -> None:
        with self._lock:
            if channel not in stored.channels:
                stored.channels.append(channel)


def file_json(stored: StoredFile, *, team_id: str, origin: str, domain: str) -> JsonDict:
    """The file object as files.info / message ``files`` show it."""
    filetype, pretty = stored.filetype()
    private = f"{origin}/files-pri/{team_id}-{stored.id}/{stored.name}"
    data: JsonDict = {
        "id": stored.id,
        "created": stored.created,
        "timestamp": stored.created,
        "name": stored.name,
        "title": stored.title or stored.name,
        "mimetype": stored.mimetype(),
        "filetype": filetype,
        "pretty_type": pretty,
        "user": stored.user,
        "user_team": team_id,
        "editable": filetype not in ("binary", "png"),
        "size": stored.size,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": bool(stored.channels),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": private,
        "url_private_download": f"{origin}/files-pri/{team_id}-{stored.id}/download/{stored.name}",
        "permalink": f"https://{domain}.slack.com/files/{stored.user}/{stored.id}/{stored.name}",
        "channels": list(stored.channels),
        "groups": [],
        "ims": [],
        "comments_count": 0,
    }
    if stored.alt_txt:
        data["alt_txt"] = stored.alt_txt
    if stored.content is not None and data["editable"]:
        preview = stored.content[:1024].decode("utf-8", errors="replace")
        data["preview"] = preview
        data["lines"] = stored.content.count(b"\n") + (0 if stored.content.endswith(b"\n") else 1)
    return data
