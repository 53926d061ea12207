"""Merging two conversations, and two contacts with their identities.

Merging a conversation into another moves its messages (and notes, and their
outbox rows) to the target, adds its tags to the target's, and closes the
source with a pointer to the target (`merged_into`); the inbound pipeline
threads later items of the source's thread into the target. Merging a
contact into another moves its identities and conversations: a person who
writes on Instagram and by Messenger becomes one contact with one history.
The Activity log keeps a row on both sides. Both are scoped by workspace:
an object of another workspace is refused.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.core.db_bulk import insert_values
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity

from .actions import ActionRefused
from .choices import ACTIVE_STATUSES, Status
from .models import Contact, Conversation, Identity, Message, Outbox

# Following merged_into pointers stops after this many hops (a chain, never a cycle).
MAX_MERGE_HOPS = 10


def _same_workspace(actor: Actor, *workspace_ids: int) -> None:
    for workspace_id in workspace_ids:
        require(actor, Permission.ASSIGN, workspace_id)
    if len(set(workspace_ids)) != 1:
        raise PermissionDenied("objects of another workspace")


def final_conversation_id(conversation_id: int) -> int:
    """Where a conversation's items go now: itself, or the conversation it was merged into."""
    current = conversation_id
    for _hop in range(MAX_MERGE_HOPS):
        target = (
            Conversation.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        )
        if target is None:
            return current
        current = target
    return current


def do_merge_conversations(
    actor: Actor, source: Conversation, target: Conversation
) -> Conversation:
    """Move `source`'s messages into `target`, close `source` pointing at it; returns the target."""
    _same_workspace(actor, source.workspace_id, target.workspace_id)
    if source.pk == target.pk:
        raise ActionRefused(_("A conversation cannot be merged into itself."))
    now = clock.now()
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Conversation.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise ActionRefused(_("This conversation was already merged into another one."))
        moved = Message.objects.filter(conversation=source).update(conversation=target)
        Outbox.objects.filter(conversation=source).update(conversation=target)
        target.tags.add(*source.tags.all())
        _recount(target, source)
        source.status = Status.CLOSED
        source.merged_into = target
        source.message_count = 0
        source.waiting_since = None
        source.sla_due_at = None
        source.snoozed_until = None
        source.snooze_until_reply = False
        source.last_activity_at = now
        source.save(
            update_fields=[
                "status",
                "merged_into",
                "message_count",
                "waiting_since",
                "sla_due_at",
                "snoozed_until",
                "snooze_until_reply",
                "last_activity_at",
            ]
        )
        who = actor_fields(actor)
        insert_values(
            Activity,
            [
                {
                    "workspace_id": target.workspace_id,
                    "conversation_id": target.pk,
                    "channel_id": target.channel_id,
                    "verb": Verb.MERGED,
                    "data": {"source": source.pk, "messages": moved},
                    "created_at": now,
                    **who,
                },
                {
                    "workspace_id": source.workspace_id,
                    "conversation_id": source.pk,
                    "channel_id": source.channel_id,
                    "verb": Verb.MERGED,
                    "data": {"into": target.pk, "messages": moved},
                    "created_at": now,
                    **who,
                },
            ],
        )
    return target


def _recount(target: Conversation, source: Conversation) -> None:
    """The target's counters and times over the messages it now holds, and the source's wait."""
    target.message_count += source.message_count
    target.last_activity_at = max(
        (t for t in (target.last_activity_at, source.last_activity_at) if t), default=None
    )
    if source.last_inbound_at and (
        target.last_inbound_at is None or source.last_inbound_at > target.last_inbound_at
    ):
        target.last_inbound_at = source.last_inbound_at
        target.preview, target.last_kind = source.preview, source.last_kind
        target.language = source.language or target.language
    waits = [t for t in (target.waiting_since, source.waiting_since) if t]
    target.waiting_since = min(waits) if waits else None
    dues = [t for t in (target.sla_due_at, source.sla_due_at) if t]
    target.sla_due_at = min(dues) if dues else None
    firsts = [t for t in (target.first_response_at, source.first_response_at) if t]
    target.first_response_at = min(firsts) if firsts else None
    if target.status == Status.CLOSED and source.status in ACTIVE_STATUSES:
        # The source still needed the team: the merged conversation does too.
        target.status = Status.OPEN
    target.save(
        update_fields=[
            "message_count",
            "last_activity_at",
            "last_inbound_at",
            "preview",
            "last_kind",
            "language",
            "waiting_since",
            "sla_due_at",
            "first_response_at",
            "status",
        ]
    )


def do_merge_contacts(actor: Actor, source: Contact, target: Contact) -> Contact:
    """Move `source`'s identities and conversations (with their notes) to `target`; returns it."""
    _same_workspace(actor, source.workspace_id, target.workspace_id)
    if source.pk == target.pk:
        raise ActionRefused(_("A contact cannot be merged into itself."))
    now = clock.now()
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Contact.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise ActionRefused(_("This contact was already merged into another one."))
        identities = Identity.objects.filter(contact=source).update(contact=target)
        moved = Conversation.objects.filter(contact=source).update(contact=target)
        # Logged on every conversation of the merged contact: each timeline tells it.
        conversations = list(
            Conversation.objects.filter(contact=target).values_list("pk", "channel_id")
        )
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        if not target.language and source.language:
            target.language = source.language
            target.save(update_fields=["language"])
        who = actor_fields(actor)
        data = {
            "source": source.pk,
            "source_name": source.display_name[:200],
            "into": target.pk,
            "into_name": target.display_name[:200],
            "identities": identities,
            "conversations": moved,
        }
        rows = [
            {
                "workspace_id": target.workspace_id,
                "conversation_id": pk,
                "channel_id": channel_id,
                "verb": Verb.CONTACTS_MERGED,
                "data": data,
                "created_at": now,
                **who,
            }
            for pk, channel_id in conversations
        ]
        # And one for the audit log, about the contacts themselves.
        rows.append(
            {
                "workspace_id": target.workspace_id,
                "conversation_id": None,
                "channel_id": None,
                "verb": Verb.CONTACTS_MERGED,
                "data": data,
                "created_at": now,
                **who,
            }
        )
        insert_values(Activity, rows)
    return target


__all__ = ["do_merge_contacts", "do_merge_conversations", "final_conversation_id"]
