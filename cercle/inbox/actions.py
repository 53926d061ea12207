"""Every write of the inbox: one function per verb, one transaction each, Activity rows included."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind, Capability, Incoming, OutboundAction
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core import clock
from cercle.inbox.choices import (
    ACTIVE_STATUSES,
    ConversationKind,
    Delivery,
    Direction,
    Kind,
    OutboxState,
    Priority,
    Status,
)
from cercle.inbox.models import (
    Conversation,
    Draft,
    InboxSettings,
    Message,
    Outbox,
    Presence,
    Tag,
)
from cercle.workspaces.actors import Actor, actor_fields, require, system
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.mentions import find_mentions
from cercle.workspaces.models import Activity, Member, Team

from . import collision
from .collision import PRESENCE_TTL_SECONDS, AlreadySent, Seen
from .receive import ReceiveResult, receive_items
from .signals import outbox_written

# The longest reply or note we accept from the UI, whatever the platform.
MAX_TEXT_LENGTH = 20_000


class ActionRefused(ValueError):
    """The action cannot be done (empty text, platform cannot do it, wrong state); the message says why."""


def _log(
    conversation: Conversation,
    verb: str,
    actor: Actor | None = None,
    message: Message | None = None,
    **data: object,
) -> Activity:
    """One Activity row about `conversation`, by `actor` (None: the platform)."""
    return Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        message=message,
        channel_id=conversation.channel_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
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
    if conversation.kind == ConversationKind.PRIVATE:
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
    actor: Actor,
    conversation: Conversation,
    text: str,
    *,
    private: bool = False,
    seen: Seen | None = None,
    then_close: bool = False,
) -> Message:
    """Answer a conversation: an outbound Message (pending) and its Outbox row, in one transaction.

    `seen` is what the member's reply box was drawn from: when others replied, assigned
    or changed the status since, nothing is sent (`collision.Collision`); a submission
    already sent is not sent again (`collision.AlreadySent`). `then_close` closes the
    conversation in the same transaction ("Send and close"), both logged.
    """
    require(actor, Permission.REPLY, conversation.workspace_id)
    if then_close:
        require(actor, Permission.ASSIGN, conversation.workspace_id)
    text = _clean_text(text)
    action_kind, _cap = _outbound_capability(conversation, private)
    limit = connector_class(conversation.channel.platform).max_reply_length
    if len(text) > limit:
        raise ActionRefused(
            _("The platform accepts at most %(limit)d characters.") % {"limit": limit}
        )
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        # Under the row lock: a second send of the same conversation waits here, then sees the first.
        send_key = _unused_send_key(conversation, seen.send_key if seen else "")
        if seen is not None:
            collision.check(conversation.pk, actor, seen)
        target = (
            conversation.messages.filter(direction=Direction.INBOUND, deleted_at__isnull=True)
            .order_by("-id")
            .only("external_id", "author_identity__external_id")
            .select_related("author_identity")
            .first()
        )
        if (
            target is None
            and conversation.kind != "private"
            and conversation.messages.filter(direction=Direction.INBOUND).exists()
        ):  # every community item of the thread was deleted
            raise ActionRefused(
                _("The item was deleted on the platform: there is nothing left to reply to.")
            )
        now = clock.now()
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            kind=Kind.MESSAGE if action_kind != ActionKind.REPLY else Kind.REPLY,
            is_private=action_kind != ActionKind.REPLY,
            author_member=actor if isinstance(actor, Member) else None,
            text=text,
            parent_external_id=(target.external_id or "") if target else "",
            delivery=Delivery.PENDING,
            sent_at=now,
        )
        action = OutboundAction(
            kind=action_kind,
            idempotency_key=send_key,
            target_external_id=(target.external_id or "") if target else "",
            text=text,
            thread_ref=conversation.thread_key.removeprefix("private:")
            if conversation.kind == ConversationKind.PRIVATE
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
        _log(
            conversation,
            Verb.REPLIED,
            actor,
            message,
            private=message.is_private,
            **({"send_key": send_key} if seen and seen.send_key else {}),
        )
        _forget_draft(actor, conversation)
        if then_close:
            do_change_status(actor, conversation, Status.CLOSED)
        _enqueue_send()
    return message


def _unused_send_key(conversation: Conversation, key: str) -> str:
    """The submission's key if it is new; `AlreadySent` if this conversation already sent it.

    Without a key (automations, the API) or with a key used elsewhere, a fresh one.
    """
    if not key:
        return uuid.uuid4().hex
    used = Outbox.objects.filter(idempotency_key=key).values_list("conversation_id", flat=True)
    for conversation_id in used:
        if conversation_id == conversation.pk:
            raise AlreadySent(key)
        return uuid.uuid4().hex
    return key


def _forget_draft(actor: Actor, conversation: Conversation) -> None:
    """The member's draft of this conversation went out: it is no longer a draft."""
    if isinstance(actor, Member):
        Draft.objects.filter(member=actor, conversation_id=conversation.pk).delete()


def do_moderate_message(
    actor: Actor, message: Message, kind: ActionKind, *, house_rule: int | None = None
) -> Outbox:
    """Hide, unhide, delete, like a message or ban (unban) its author on the platform, through
    the outbox. `house_rule`: the number of the workspace's house rule it enforces (the
    caller checks it exists); the activity cites it, and the contact's history shows it."""
    require(actor, Permission.MODERATE, message.workspace_id)
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
        cites = {"house_rule": house_rule} if house_rule is not None else {}
        _log(
            message.conversation,
            Verb.MODERATION_REQUESTED,
            actor,
            message,
            action=str(kind),
            **cites,
        )
        _enqueue_send()
    return outbox


def do_add_note(
    actor: Actor, conversation: Conversation, text: str, *, send_key: str = ""
) -> Message:
    """An internal note: visible to the team, never sent.

    `send_key` is the reply box's key for this submission: a note already added with
    it is not added twice (`collision.AlreadySent`).
    """
    require(actor, Permission.NOTE, conversation.workspace_id)
    text = _clean_text(text)
    with transaction.atomic():
        if send_key:
            Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
            if _key_used(conversation, send_key):
                raise AlreadySent(send_key)
        note = Message.objects.create(
            workspace_id=conversation.workspace_id,
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction=Direction.NOTE,
            kind=Kind.MESSAGE,
            author_member=actor if isinstance(actor, Member) else None,
            text=text,
            sent_at=clock.now(),
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=note.sent_at)
        # The members and teams it mentions: the notifications app reads them from the log.
        mentions = [m.as_data() for m in find_mentions(conversation.workspace_id, text)]
        _log(
            conversation,
            Verb.NOTE_ADDED,
            actor,
            note,
            **({"send_key": send_key} if send_key else {}),
            **({"mentions": mentions} if mentions else {}),
        )
        _forget_draft(actor, conversation)
    return note


def _key_used(conversation: Conversation, send_key: str) -> bool:
    """Whether a reply or note of this conversation went out with this reply-box key."""
    return Activity.objects.filter(
        conversation_id=conversation.pk,
        verb__in=(Verb.REPLIED, Verb.NOTE_ADDED),
        data__send_key=send_key,
    ).exists()


def do_assign_conversation(
    actor: Actor, conversation: Conversation, assignee: Member | None
) -> Conversation:
    """Give the conversation to `assignee` (None: unassign)."""
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    if assignee is not None and assignee.workspace_id != conversation.workspace_id:
        raise PermissionDenied("assignee of another workspace")
    if assignee is not None and not assignee.is_active:
        raise ActionRefused(_("This member has been deactivated."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.assignee_id == (assignee.pk if assignee else None):
            return conversation
        conversation.assignee = assignee
        if conversation.status == Status.NEW and assignee is not None:
            conversation.status = Status.OPEN
        conversation.save(update_fields=["assignee", "status"])
        if assignee is None:
            _log(conversation, Verb.UNASSIGNED, actor)
        else:
            _log(
                conversation, Verb.ASSIGNED, actor, assignee_id=assignee.pk, assignee=assignee.name
            )
    return conversation


def do_assign_team(actor: Actor, conversation: Conversation, team: Team | None) -> Conversation:
    """Give the conversation to a team (None: no team); automatic assignment picks among its members.

    A member assigned who is not in the new team is unassigned, so the team's
    backlog hands it to one of its own.
    """
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    if team is not None and team.workspace_id != conversation.workspace_id:
        raise PermissionDenied("team of another workspace")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.team_id == (team.pk if team else None):
            return conversation
        conversation.team = team
        fields = ["team"]
        if (
            team is not None
            and conversation.assignee_id is not None
            and not team.members.filter(pk=conversation.assignee_id).exists()
        ):
            conversation.assignee = None
            fields.append("assignee")
            _log(conversation, Verb.UNASSIGNED, actor, reason="team")
        conversation.save(update_fields=fields)
        if team is None:
            _log(conversation, Verb.UNASSIGNED, actor, team_id=None)
        else:
            _log(conversation, Verb.ASSIGNED, actor, team_id=team.pk, assignee=team.name)
    return conversation


def do_unassign_member(actor: Actor, member: Member) -> int:
    """Take every conversation not closed off `member` (deactivated); returns how many.

    Each one is logged as unassigned by `actor` (the automation that hands work back).
    """
    require(actor, "assign", member.workspace_id)
    unassigned = 0
    with transaction.atomic():
        conversations = (
            Conversation.objects.select_for_update()
            .filter(workspace_id=member.workspace_id, assignee=member)
            .exclude(status=Status.CLOSED)
            .order_by("pk")
        )
        for conversation in conversations:
            conversation.assignee = None
            conversation.save(update_fields=["assignee"])
            _log(conversation, Verb.UNASSIGNED, actor, member_id=member.pk, member=member.name)
            unassigned += 1
    return unassigned


def do_change_status(
    actor: Actor,
    conversation: Conversation,
    status: str,
    *,
    snooze_until: datetime | None = None,
    until_reply: bool = False,
) -> Conversation:
    """Move the conversation to `status` (close, reopen, snooze until a time or until the contact answers).

    Snoozed `until_reply`, it has no time: the next inbound message wakes it (inbox.receive).
    """
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    if status not in Status.values:
        raise ActionRefused(_("Unknown status."))
    until_reply = until_reply and status == Status.SNOOZED
    if until_reply:
        snooze_until = None
    elif status == Status.SNOOZED and (snooze_until is None or snooze_until <= clock.now()):
        raise ActionRefused(_("Choose when the conversation comes back."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        old = conversation.status
        if old == status and status != Status.SNOOZED:
            return conversation
        conversation.status = status
        conversation.snoozed_until = snooze_until if status == Status.SNOOZED else None
        conversation.snooze_until_reply = until_reply
        if status == Status.CLOSED:
            conversation.sla_due_at = None
        conversation.save(
            update_fields=["status", "snoozed_until", "snooze_until_reply", "sla_due_at"]
        )
        if until_reply:
            _log(conversation, Verb.STATUS_CHANGED, actor, old=old, new=status, until_reply=True)
        else:
            _log(conversation, Verb.STATUS_CHANGED, actor, old=old, new=status)
    return conversation


def do_set_priority(
    actor: Actor, conversation: Conversation, priority: int, *, reason: str = ""
) -> Conversation:
    """Give the conversation another priority (a person, a rule or an SLA escalation)."""
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    if priority not in Priority.values:
        raise ActionRefused(_("Unknown priority."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        old = conversation.priority
        if old == priority:
            return conversation
        conversation.priority = priority
        conversation.save(update_fields=["priority"])
        _log(conversation, Verb.PRIORITY_CHANGED, actor, old=old, new=priority, reason=reason)
    return conversation


def do_tag_conversation(actor: Actor, conversation: Conversation, name: str) -> Tag:
    """Put the tag `name` on the conversation, creating the tag if needed."""
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    name = " ".join(name.replace("\x00", "").split())[:60]
    if not name:
        raise ActionRefused(_("The tag is empty."))
    with transaction.atomic():
        tag, _created = Tag.objects.get_or_create(workspace_id=conversation.workspace_id, name=name)
        if not conversation.tags.filter(pk=tag.pk).exists():
            conversation.tags.add(tag)
            _log(conversation, Verb.TAGGED, actor, tag=tag.name)
    return tag


def do_untag_conversation(actor: Actor, conversation: Conversation, tag: Tag) -> None:
    """Take the tag off the conversation."""
    require(actor, Permission.ASSIGN, conversation.workspace_id)
    if tag.workspace_id != conversation.workspace_id:
        raise PermissionDenied("tag of another workspace")
    with transaction.atomic():
        if conversation.tags.filter(pk=tag.pk).exists():
            conversation.tags.remove(tag)
            _log(conversation, Verb.UNTAGGED, actor, tag=tag.name)


def do_wake_snoozed(now: datetime | None = None) -> int:
    """Bring back snoozed conversations whose time has come; returns how many."""
    now = now or clock.now()
    woken = 0
    with transaction.atomic():
        for conversation in Conversation.objects.select_for_update().filter(
            status=Status.SNOOZED, snoozed_until__lte=now
        )[:500]:
            conversation.status = Status.OPEN
            conversation.snoozed_until = None
            conversation.snooze_until_reply = False
            conversation.save(update_fields=["status", "snoozed_until", "snooze_until_reply"])
            _log(
                conversation,
                Verb.STATUS_CHANGED,
                system(conversation.workspace_id),
                old=Status.SNOOZED,
                new=Status.OPEN,
                reason="snooze_ended",
            )
            woken += 1
    return woken


def do_retry_delivery(actor: Actor, outbox: Outbox) -> bool:
    """Try a failed delivery again (a person asked); False when it was not failed any more."""
    require(actor, Permission.REPLY, outbox.workspace_id)
    with transaction.atomic():
        # A row whose payload was cleared (its contact erased) has nothing left to send.
        retried = Outbox.objects.filter(
            pk=outbox.pk, state=OutboxState.FAILED, payload__has_key="kind"
        ).update(state=OutboxState.QUEUED, next_attempt_at=None, attempts=0)
        if not retried:
            return False
        if outbox.message_id:
            Message.objects.filter(pk=outbox.message_id, direction=Direction.OUTBOUND).update(
                delivery=Delivery.PENDING, delivery_error=""
            )
        Activity.objects.create(
            workspace_id=outbox.workspace_id,
            conversation_id=outbox.conversation_id,
            message_id=outbox.message_id,
            channel_id=outbox.channel_id,
            verb=Verb.DELIVERY_RETRIED,
            data={"action": outbox.action, "error": outbox.last_error[:300]},
            created_at=clock.now(),
            **actor_fields(actor),
        )
        _enqueue_send()
    return True


# --- drafts and presence: the team's awareness of each other, never in the Activity log --------


def do_save_draft(
    member: Member,
    conversation: Conversation,
    text: str,
    mode: str,
    *,
    send_key: str = "",
) -> Draft | None:
    """Keep the member's unsent text of this conversation (empty text: no draft); returns it.

    Not logged (it changes at every pause in typing). A save that arrives after the
    text was sent with `send_key` (the request was on its way) keeps nothing.
    """
    require(member, Permission.VIEW, conversation.workspace_id)
    needed = Permission.NOTE if mode == "note" else Permission.REPLY
    if mode not in ("reply", "private", "note"):
        raise ActionRefused(_("Choose how to send it: reply or note."))
    require(member, needed, conversation.workspace_id)
    text = text.replace("\x00", "")
    if len(text) > MAX_TEXT_LENGTH:
        raise ActionRefused(_("The text is too long."))
    with transaction.atomic():
        if send_key and _key_used(conversation, send_key):
            return None
        if not text.strip():
            Draft.objects.filter(member=member, conversation_id=conversation.pk).delete()
            return None
        draft, _created = Draft.objects.update_or_create(
            member=member,
            conversation_id=conversation.pk,
            defaults={
                "workspace_id": conversation.workspace_id,
                "text": text,
                "mode": mode,
                "updated_at": clock.now(),
            },
        )
    return draft


def do_discard_draft(member: Member, conversation: Conversation) -> bool:
    """Throw the member's draft of this conversation away; False when there was none."""
    require(member, Permission.VIEW, conversation.workspace_id)
    deleted, _details = Draft.objects.filter(
        member=member, conversation_id=conversation.pk
    ).delete()
    return deleted > 0


def do_record_presence(
    member: Member, tab: str, conversation: Conversation | None, *, typing: bool = False
) -> Presence:
    """A heartbeat of one of the member's tabs: where it is now (None: the list), whether it types.

    Also sweeps the workspace's expired presences (usually none), so the table stays small.
    """
    require(member, Permission.VIEW, member.workspace_id)
    if conversation is not None and conversation.workspace_id != member.workspace_id:
        raise PermissionDenied("conversation of another workspace")
    now = clock.now()
    tab = tab[:40]
    with transaction.atomic():
        presence, created = Presence.objects.get_or_create(
            member=member,
            tab=tab,
            defaults={
                "workspace_id": member.workspace_id,
                "conversation": conversation,
                "seen_at": now,
                "typing_at": now if typing else None,
            },
        )
        if not created:
            moved = presence.conversation_id != (conversation.pk if conversation else None)
            presence.conversation = conversation
            presence.seen_at = now
            if typing:
                presence.typing_at = now
            elif moved:
                presence.typing_at = None
            presence.save(update_fields=["conversation", "seen_at", "typing_at"])
        Presence.objects.filter(
            workspace_id=member.workspace_id,
            seen_at__lt=now - timedelta(seconds=PRESENCE_TTL_SECONDS),
        ).delete()
    return presence


def do_leave_presence(member: Member, tab: str) -> None:
    """The tab was closed or hidden: nobody is there any more."""
    Presence.objects.filter(member=member, tab=tab[:40]).delete()


def _enqueue_send() -> None:
    """Wake the sender once the transaction that wrote Outbox rows commits."""
    transaction.on_commit(lambda: outbox_written.send(sender=Outbox))


__all__ = [
    "ACTIVE_STATUSES",
    "ActionRefused",
    "do_add_note",
    "do_assign_conversation",
    "do_change_inbox_settings",
    "do_change_status",
    "do_discard_draft",
    "do_leave_presence",
    "do_moderate_message",
    "do_receive",
    "do_record_presence",
    "do_reply",
    "do_retry_delivery",
    "do_save_draft",
    "do_set_priority",
    "do_tag_conversation",
    "do_untag_conversation",
    "do_wake_snoozed",
]


def do_change_inbox_settings(actor: Actor, workspace_id: int, *, reopen_on_inbound: bool) -> None:
    """Change the workspace's inbox options (whether a new message reopens a closed conversation)."""
    require(actor, Permission.MANAGE_WORKSPACE, workspace_id)
    with transaction.atomic():
        settings, _created = InboxSettings.objects.select_for_update().get_or_create(
            workspace_id=workspace_id
        )
        if settings.reopen_on_inbound == reopen_on_inbound:
            return
        settings.reopen_on_inbound = reopen_on_inbound
        settings.save(update_fields=["reopen_on_inbound"])
        Activity.objects.create(
            workspace_id=workspace_id,
            verb=Verb.WORKSPACE_CHANGED,
            data={"reopen_on_inbound": reopen_on_inbound},
            created_at=clock.now(),
            **actor_fields(actor),
        )
