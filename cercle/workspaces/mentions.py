"""@mentions: the handles of members and teams, and finding them in a note's text.

A member answers to two handles: the slug of their name ("Léa Martin" →
`@lea-martin`) and the slug of their username (`@lea`); a team to the slug of
its name ("Support FR" → `@support-fr`). What the writer types is slugified the
same way, so `@Léa-Martin` reaches `lea-martin`. A handle shared by two
targets (two members called Sam) is ambiguous and reaches nobody: the profile
page shows each member the handles that are theirs alone.

This lives in the workspaces app because the inbox (which writes notes) and
the notifications app (which tells the people mentioned) both read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.text import slugify

from .models import Member, Team

# `@` at the start or after a non-word character (not in an e-mail address), then a
# handle of letters, digits, `.`, `_` and `-`, ending with a letter or digit.
MENTION_RE = re.compile(r"(?<![\w@])@(\w(?:[\w.-]*\w)?)")
# How many mentions of one note are resolved (a pasted list must not notify everyone twice over).
MAX_MENTIONS = 50


def handle_key(text: str) -> str:
    """The comparable form of a handle or a name: slugified, lower case, no accents."""
    return slugify(text.replace(".", "-").replace("_", "-"))


def member_handles(member: Member) -> list[str]:
    """The handles a member may be mentioned by (name first, then username), without duplicates."""
    keys = [handle_key(member.name), handle_key(member.user.get_username())]
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def team_handle(team: Team) -> str:
    return handle_key(team.name)


@dataclass(frozen=True, slots=True)
class Mention:
    """One resolved mention: the handle typed (its key) and the member or team it reaches."""

    handle: str
    member_id: int | None = None
    team_id: int | None = None
    name: str = ""

    def as_data(self) -> dict[str, object]:
        """The form stored in the note's Activity (`data["mentions"]`)."""
        data: dict[str, object] = {"handle": self.handle, "name": self.name}
        if self.member_id is not None:
            data["member"] = self.member_id
        if self.team_id is not None:
            data["team"] = self.team_id
        return data


def handle_directory(workspace_id: int) -> dict[str, Mention]:
    """Every unambiguous handle of the workspace's active members and its teams."""
    found: dict[str, list[Mention]] = {}
    members = Member.objects.filter(workspace_id=workspace_id, is_active=True).select_related(
        "user"
    )
    for member in members:
        for key in member_handles(member):
            found.setdefault(key, []).append(Mention(key, member_id=member.pk, name=member.name))
    for team in Team.objects.filter(workspace_id=workspace_id):
        key = team_handle(team)
        if key:
            found.setdefault(key, []).append(Mention(key, team_id=team.pk, name=team.name))
    return {key: targets[0] for key, targets in found.items() if len(targets) == 1}


def typed_handles(text: str) -> list[str]:
    """The handle keys typed in `text`, in order, without duplicates."""
    keys: list[str] = []
    for match in MENTION_RE.finditer(text):
        key = handle_key(match.group(1))
        if key and key not in keys:
            keys.append(key)
    return keys


def find_mentions(workspace_id: int, text: str) -> list[Mention]:
    """The members and teams of the workspace that `text` mentions (unknown handles are ignored)."""
    keys = typed_handles(text)[:MAX_MENTIONS]
    if not keys:
        return []
    directory = handle_directory(workspace_id)
    return [directory[k] for k in keys if k in directory]


def split_mentions(text: str, handles: Iterable[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_mention) where a mention is an `@handle` among `handles`.

    The template tag that highlights mentions escapes every piece; this only cuts.
    """
    wanted = set(handles)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in MENTION_RE.finditer(text):
        if handle_key(match.group(1)) not in wanted:
            continue
        if match.start() > last:
            pieces.append((text[last : match.start()], False))
        pieces.append((match.group(0), True))
        last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def own_handles(member: Member) -> list[str]:
    """The handles that reach `member` (those not shared with another member or a team)."""
    directory = handle_directory(member.workspace_id)
    return [k for k in member_handles(member) if k in directory]
