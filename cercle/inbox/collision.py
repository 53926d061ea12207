"""Collision detection: what changed in a conversation since a member's reply box was drawn.

The reply box carries what its member saw: the id of the newest Activity of the
conversation when the pane was drawn (`Seen.activity_id`), and a key drawn for
that one submission (`Seen.send_key`). `do_reply` checks both under the
conversation's row lock, so two sends cannot both pass:

- if since then somebody else (a member or an automation) replied, assigned or
  unassigned the conversation or changed its status, the reply is stopped with
  the list of those changes (`Collision`); the member sees them and chooses to
  send anyway (the box now carries the newer mark), edit, or discard;
- a key already used (a double click, a replayed request) sends nothing again
  (`AlreadySent`): the key is the Outbox row's idempotency key, unique in the
  database.

The member's own actions never stop them (they know what they did), nor notes,
tags or new inbound messages (they do not answer the customer).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cercle.workspaces.actors import Actor
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Member

# What stops a reply written without seeing it: another answer went out, the work
# changed hands, or its status moved.
STOPPING_VERBS: tuple[str, ...] = (
    Verb.REPLIED,
    Verb.ASSIGNED,
    Verb.UNASSIGNED,
    Verb.STATUS_CHANGED,
)
# At most this many changes are listed (a conversation reopened and closed all day).
MAX_CHANGES = 20
# A presence not refreshed for this long is gone (an open page beats every few seconds).
PRESENCE_TTL_SECONDS = 45
# "is typing" lasts this long after the last keystroke the page reported.
TYPING_TTL_SECONDS = 12
_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class Seen:
    """What a reply box was drawn from: the newest Activity id, and the key of this submission."""

    activity_id: int
    send_key: str = ""

    @classmethod
    def from_form(cls, data: Mapping[str, str]) -> Seen | None:
        """The mark posted by the reply box (`seen`, `send_key`); None when the form has none."""
        raw = data.get("seen", "")
        try:
            activity_id = int(raw)
        except (TypeError, ValueError):
            return None
        key = data.get("send_key", "")
        return cls(activity_id=max(0, activity_id), send_key=key if _KEY.match(key) else "")


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that happened to the conversation after the member's box was drawn."""

    verb: str
    who: str
    when: datetime
    data: dict[str, object] = field(default_factory=dict)
    # The reply's text, for "X replied: …" (escaped by the template like any text).
    excerpt: str = ""


class Collision(Exception):
    """The reply was not sent: the conversation changed since the member's box was drawn."""

    def __init__(self, changes: list[Change], latest_id: int) -> None:
        super().__init__("the conversation changed since it was opened")
        self.changes = changes
        # The newest Activity id when the check ran: what the member is shown now.
        self.latest_id = latest_id


class AlreadySent(Exception):
    """This submission (its send key) was already sent: nothing is sent again."""


def new_send_key() -> str:
    """A fresh key for one submission of the reply box."""
    return uuid.uuid4().hex


def latest_activity_id(conversation_id: int) -> int:
    """The id of the newest Activity of the conversation (0 when it has none)."""
    last = (
        Activity.objects.filter(conversation_id=conversation_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def _who(activity: Activity) -> str:
    if activity.actor_id is not None and activity.actor is not None:
        return activity.actor.name
    return activity.automation_name or ""


def changes_since(conversation_id: int, actor: Actor, after_id: int) -> list[Change]:
    """What others did to the conversation after Activity `after_id` that should stop a reply."""
    rows = (
        Activity.objects.filter(
            conversation_id=conversation_id, id__gt=after_id, verb__in=STOPPING_VERBS
        )
        .select_related("actor__user", "message")
        .order_by("id")
    )
    if isinstance(actor, Member):
        rows = rows.exclude(actor_id=actor.pk)
    changes = []
    for activity in rows[:MAX_CHANGES]:
        data = activity.data if isinstance(activity.data, dict) else {}
        excerpt = ""
        if activity.verb == Verb.REPLIED and activity.message is not None:
            excerpt = activity.message.text[:280]
        changes.append(
            Change(
                verb=activity.verb,
                who=_who(activity),
                when=activity.created_at,
                data=data,
                excerpt=excerpt,
            )
        )
    return changes


def check(conversation_id: int, actor: Actor, seen: Seen) -> None:
    """Raise `Collision` when others changed the conversation since `seen` (call under its lock)."""
    changes = changes_since(conversation_id, actor, seen.activity_id)
    if changes:
        raise Collision(changes, latest_activity_id(conversation_id))


__all__ = [
    "PRESENCE_TTL_SECONDS",
    "STOPPING_VERBS",
    "TYPING_TTL_SECONDS",
    "AlreadySent",
    "Change",
    "Collision",
    "Seen",
    "changes_since",
    "check",
    "latest_activity_id",
    "new_send_key",
]
