"""Every write of the inbox: one function per verb, one transaction each, Activity rows included."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind, Capability, Incoming, OutboundAction
from cercle.connectors.models import Channel, Outbox
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.workspaces.models import Member

from .choices import ACTIVE_STATUSES, Delivery, Direction, Kind, Status, Verb
from .models import Activity, Conversation, Message, Tag
from .receive import ReceiveResult, receive_items

# The longest reply or note we accept from the UI, whatever the platform.
MAX_TEXT_LENGTH = 20_000


class ActionRefused(ValueError):
    """The action cannot be done (empty text, platform cannot do it, wrong state); the message says why."""


def _require(member: Member, permission: str, workspace_id: int) -> None:
    if member.workspace_id != workspace_id or not member.can(permission):
        raise PermissionDenied(permission)


def _log(
    conversation: Conversation | None,
    verb: str,
    actor: Member | None = None,
    message: Message | None = None,
    **data: object,
) -> Activity:
    assert conversation is not None or message is not None
    workspace_id = conversation.workspace_id if conversation else message.workspace_id  # type: ignore[union-attr]
    return Activity.objects.create(
        workspace_id=workspace_id,
        conversation=conversation,
        message=message,
        channel_id=conversation.channel_id if conversation else None,
        actor=actor,
        verb=verb,
        data=dict(data),
    )


def do_receive(
    channel: Channel, items: Sequence[Incoming], raw_event_id: int | None = None
) -> ReceiveResult:
    """Upsert inbound items of one channel: dedupe, thread, classify, route, log. Idempotent."""
    with transaction.atomic():
        return receive_items(channel, [(item, raw_event_id) for item in items])


def _platform_capabilities(channel: Channel) -> frozenset[Capability]:
    """What the channel's platform can do; nothing when its connector is no longer installed."""
    try:
        return connector_class(channel.platform).capabilities
    except UnknownPlatform:
        return frozenset()


def _outbound_capability(
    conversation: Conversation, private: bool
) -> tuple[ActionKind, Capability]:
    caps = _platform_capabilities(conversation.channel)
    if conversation.kind == "private":
        kind, cap = ActionKind.SEND_PRIVATE, Capability.SEND_PRIVATE
    elif private:
        kind, cap = ActionKind.PRIVATE_REPLY, Capability.PRIVATE_REPLY
    else:
        kind, cap = ActionKind.REPLY, Capability.REPLY
    if cap not in caps:
        raise ActionRefused(_("This channel cannot send this kind of reply."))
    return kind, cap


def _clean_text(text: str) -> str:
    # NUL means nothing in a message, and PostgreSQL refuses it in text (a 500).
    text = text.replace("\x00", "").strip()
    if not text:
        raise ActionRefused(_("The text is empty."))
    if len(text) > MAX_TEXT_LENGTH:
        raise ActionRefused(_("The text is too long."))
    return text


def do_reply(
    member: Member, conversation: Conversation, text: str, *, private: bool = False
) -> Message:
    """Answer a conversation: an outbound Message (pending) and its Outbox row, in one transaction."""
    _require(member, "reply", conversation.workspace_id)
    text = _clean_text(text)
    action_kind, _cap = _outbound_capability(conversation, private)
    limit = connector_class(conversation.channel.platform).max_reply_length
    if len(text) > limit:
        raise ActionRefused(
            _("The platform accepts at most %(limit)d characters.") % {"limit": limit}
        )
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        target = (
            conversation.messages.filter(direction=Direction.INBOUND, deleted_at__isnull=True)
            .order_by("-id")
            .only("external_id", "author_identity__external_id")
            .select_related("author_identity")
            .first()
        )
        now = timezone.now()
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            kind=Kind.MESSAGE if action_kind != ActionKind.REPLY else Kind.REPLY,
            is_private=action_kind != ActionKind.REPLY,
            author_member=member,
            text=text,
            parent_external_id=(target.external_id or "") if target else "",
            delivery=Delivery.PENDING,
            sent_at=now,
        )
        action = OutboundAction(
            kind=action_kind,
            idempotency_key=uuid.uuid4().hex,
            target_external_id=(target.external_id or "") if target else "",
            text=text,
            thread_ref=conversation.thread_key.removeprefix("private:")
            if conversation.kind == "private"
            else "",
            author_external_id=target.author_identity.external_id
            if target and target.author_identity
            else "",
            post_external_id=conversation.post.external_id if conversation.post else "",
        )
        Outbox.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            message=message,
            conversation=conversation,
            action=action.kind,
            payload=action.to_payload(),
            idempotency_key=action.idempotency_key,
        )
        if conversation.first_response_at is None:
            conversation.first_response_at = now
        conversation.waiting_since = None
        conversation.sla_due_at = None
        conversation.last_activity_at = now
        conversation.message_count += 1
        if conversation.status == Status.NEW:
            conversation.status = Status.OPEN
        conversation.save(
            update_fields=[
                "first_response_at",
                "waiting_since",
                "sla_due_at",
                "last_activity_at",
                "message_count",
                "status",
            ]
        )
        _log(conversation, Verb.REPLIED, member, message, private=message.is_private)
        _enqueue_send()
    return message


def do_moderate_message(member: Member, message: Message, kind: ActionKind) -> Outbox:
    """Hide, unhide, delete, like a message or ban its author on the platform, through the outbox."""
    _require(member, "moderate", message.workspace_id)
    capability = Capability(str(kind))
    if capability not in _platform_capabilities(message.channel):
        raise ActionRefused(_("This channel cannot do that."))
    if not message.external_id:
        raise ActionRefused(_("This message is not on the platform."))
    author = message.author_identity.external_id if message.author_identity else ""
    action = OutboundAction(
        kind=kind,
        idempotency_key=uuid.uuid4().hex,
        target_external_id=message.external_id,
        author_external_id=author,
    )
    with transaction.atomic():
        outbox = Outbox.objects.create(
            workspace_id=message.workspace_id,
            channel_id=message.channel_id,
            message=message,
            conversation_id=message.conversation_id,
            action=action.kind,
            payload=action.to_payload(),
            idempotency_key=action.idempotency_key,
        )
        _log(message.conversation, Verb.MODERATION_REQUESTED, member, message, action=str(kind))
        _enqueue_send()
    return outbox


def do_add_note(member: Member, conversation: Conversation, text: str) -> Message:
    """An internal note: visible to the team, never sent."""
    _require(member, "note", conversation.workspace_id)
    text = _clean_text(text)
    with transaction.atomic():
        note = Message.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction=Direction.NOTE,
            kind=Kind.MESSAGE,
            author_member=member,
            text=text,
            sent_at=timezone.now(),
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=note.sent_at)
        _log(conversation, Verb.NOTE_ADDED, member, note)
    return note


def do_assign_conversation(
    member: Member, conversation: Conversation, assignee: Member | None
) -> Conversation:
    """Give the conversation to `assignee` (None: unassign)."""
    _require(member, "assign", conversation.workspace_id)
    if assignee is not None and assignee.workspace_id != conversation.workspace_id:
        raise PermissionDenied("assignee of another workspace")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.assignee_id == (assignee.pk if assignee else None):
            return conversation
        conversation.assignee = assignee
        if conversation.status == Status.NEW and assignee is not None:
            conversation.status = Status.OPEN
        conversation.save(update_fields=["assignee", "status"])
        if assignee is None:
            _log(conversation, Verb.UNASSIGNED, member)
        else:
            _log(
                conversation, Verb.ASSIGNED, member, assignee_id=assignee.pk, assignee=assignee.name
            )
    return conversation


def do_change_status(
    member: Member, conversation: Conversation, status: str, *, snooze_until: datetime | None = None
) -> Conversation:
    """Move the conversation to `status` (close, reopen, snooze until a time)."""
    _require(member, "assign", conversation.workspace_id)
    if status not in Status.values:
        raise ActionRefused(_("Unknown status."))
    if status == Status.SNOOZED and (snooze_until is None or snooze_until <= timezone.now()):
        raise ActionRefused(_("Choose when the conversation comes back."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        old = conversation.status
        if old == status:
            return conversation
        conversation.status = status
        conversation.snoozed_until = snooze_until if status == Status.SNOOZED else None
        if status == Status.CLOSED:
            conversation.sla_due_at = None
        conversation.save(update_fields=["status", "snoozed_until", "sla_due_at"])
        _log(conversation, Verb.STATUS_CHANGED, member, old=old, new=status)
    return conversation


def do_tag_conversation(member: Member, conversation: Conversation, name: str) -> Tag:
    """Put the tag `name` on the conversation, creating the tag if needed."""
    _require(member, "assign", conversation.workspace_id)
    name = " ".join(name.replace("\x00", "").split())[:60]
    if not name:
        raise ActionRefused(_("The tag is empty."))
    with transaction.atomic():
        tag, _created = Tag.objects.get_or_create(workspace_id=conversation.workspace_id, name=name)
        if not conversation.tags.filter(pk=tag.pk).exists():
            conversation.tags.add(tag)
            _log(conversation, Verb.TAGGED, member, tag=tag.name)
    return tag


def do_untag_conversation(member: Member, conversation: Conversation, tag: Tag) -> None:
    """Take the tag off the conversation."""
    _require(member, "assign", conversation.workspace_id)
    if tag.workspace_id != conversation.workspace_id:
        raise PermissionDenied("tag of another workspace")
    with transaction.atomic():
        if conversation.tags.filter(pk=tag.pk).exists():
            conversation.tags.remove(tag)
            _log(conversation, Verb.UNTAGGED, member, tag=tag.name)


def do_wake_snoozed(now: datetime | None = None) -> int:
    """Bring back snoozed conversations whose time has come; returns how many."""
    now = now or timezone.now()
    woken = 0
    with transaction.atomic():
        for conversation in Conversation.objects.select_for_update().filter(
            status=Status.SNOOZED, snoozed_until__lte=now
        )[:500]:
            conversation.status = Status.OPEN
            conversation.snoozed_until = None
            conversation.save(update_fields=["status", "snoozed_until"])
            _log(
                conversation,
                Verb.STATUS_CHANGED,
                None,
                old=Status.SNOOZED,
                new=Status.OPEN,
                reason="snooze_ended",
            )
            woken += 1
    return woken


def _enqueue_send() -> None:
    from cercle.connectors.tasks import send_outbox

    transaction.on_commit(lambda: send_outbox.enqueue())


__all__ = [
    "ACTIVE_STATUSES",
    "ActionRefused",
    "do_add_note",
    "do_assign_conversation",
    "do_change_status",
    "do_moderate_message",
    "do_receive",
    "do_reply",
    "do_tag_conversation",
    "do_untag_conversation",
    "do_wake_snoozed",
]
