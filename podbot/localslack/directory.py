"""Who and where: the team, users, channels and user groups of an emulated workspace.

Frozen records with the JSON shapes Slack's API returns for them (``users.info``,
``conversations.info``, ``usergroups.list``). Ids are deterministic and readable
(``U01ALICE``, ``C01OPS``, ``S01SRE``) so logs and test failures are easy to follow; they keep
Slack's prefixes so code that branches on them (``U``/``W`` users, ``C``/``G``/``D`` channels)
behaves as in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


def make_id(prefix: str, number: int, name: str) -> str:
    """``U01ALICE``: Slack's prefix, a sequence number, and the name's first letters."""
    letters = re.sub(r"[^A-Z0-9]", "", name.upper())[:8] or "X"
    return f"{prefix}{number:02d}{letters}"


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    domain: str

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def to_json(self) -> JsonDict:
        return {"id": self.id, "name": self.name, "domain": self.domain, "email_domain": "", "icon": {}}


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    email: str
    is_bot: bool = False
    tz: str = "UTC"
    tz_offset: int = 0
    locale: str = "en-US"
    is_admin: bool = False
    deleted: bool = False
    bot_id: str | None = None
    display_name: str = ""

    def to_json(self, team_id: str, *, include_locale: bool = False, include_email: bool = True) -> JsonDict:
        profile: JsonDict = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "title": "",
            "status_text": "",
            "status_emoji": "",
            "team": team_id,
            "image_48": f"https://avatars.example.invalid/{self.id}_48.png",
        }
        if self.is_bot:
            profile["bot_id"] = self.bot_id
        elif include_email:
            profile["email"] = self.email
        data: JsonDict = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if include_locale:
            data["locale"] = self.locale
        return data


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    members: frozenset[str] = field(default_factory=frozenset)
    is_private: bool = False
    is_im: bool = False
    created: int = 1700000000
    creator: str = ""
    topic: str = ""
    purpose: str = ""
    is_archived: bool = False

    def to_json(self, *, viewer: str, include_num_members: bool = False) -> JsonDict:
        if self.is_im:
            other = next((m for m in sorted(self.members) if m != viewer), viewer)
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": other,
                "is_user_deleted": False,
                "priority": 0,
            }
        data: JsonDict = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": viewer in self.members,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": self.creator if self.topic else "", "last_set": 0},
            "purpose": {
                "value": self.purpose,
                "creator": self.creator if self.purpose else "",
                "last_set": 0,
            },
        }
        if include_num_members:
            data["num_members"] = len(self.members)
        return data


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    name: str
    users: tuple[str, ...] = ()
    description: str = ""
    created: int = 1700000000

    def to_json(self, team_id: str, *, include_users: bool = False) -> JsonDict:
        data: JsonDict = {
            "id": self.id,
            "team_id": team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": self.name,
            "description": self.description,
            "handle": self.handle,
            "is_external": False,
            "date_create": self.created,
            "date_update": self.created,
            "date_delete": 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": "",
            "updated_by": "",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(self.users),
        }
        if include_users:
            data["users"] = list(self.users)
        return data
