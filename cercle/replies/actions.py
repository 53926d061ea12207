"""Writes of saved replies and approvals: one function per verb, one transaction each.

Who may do what (checked here, whatever the page):
- everyone who may reply uses saved replies;
- members whose role has `manage_saved_replies` (managers, admins, owners) write them;
- members whose role has `manage_workflow` set the approval policy;
- members whose role has `approve_replies` (managers, admins, owners) approve, edit
  or reject held replies, and their own replies are never held.

The send path goes through `do_submit_reply`: a held reply becomes a
PendingReply, never a Message or an Outbox row, until an approver approves it;
only then does `inbox.actions.do_reply` write the Message and its Outbox row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cercle.connectors.base import Capability
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core import clock
from cercle.inbox import collision
from cercle.inbox.actions import MAX_TEXT_LENGTH, ActionRefused, do_reply
from cercle.inbox.choices import ConversationKind
from cercle.inbox.collision import Seen
from cercle.inbox.models import Conversation, Message
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Role, Verb
from cercle.workspaces.models import Activity, Member, Workspace

from .choices import PendingState
from .models import ApprovalPolicy, PendingReply, SavedReply, SavedReplyVersion
from .variables import base_language, validate_variables

MAX_TITLE_LENGTH = 120
MAX_COMMENT_LENGTH = 2000


def _log_settings(workspace_id: int, actor: Actor, what: str, **data: object) -> None:
    Activity.objects.create(
        workspace_id=workspace_id,
        verb=Verb.WORKSPACE_CHANGED,
        data={"setting": what, **data},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _log(conversation: Conversation, verb: str, actor: Actor, **data: object) -> Activity:
    return Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


# --- saved replies -------------------------------------------------------------------


def _clean_versions(versions: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    for language, text in versions.items():
        code = base_language(language)
        text = text.replace("\x00", "").strip()
        if not text:
            continue
        if not code.isalpha() or len(code) > 8:
            errors.append(_("Unknown language code: %(code)s") % {"code": language[:20]})
            continue
        if len(text) > MAX_TEXT_LENGTH:
            errors.append(_("The text is too long."))
            continue
        try:
            validate_variables(text)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        cleaned[code] = text
    if errors:
        raise ValidationError(errors)
    if not cleaned:
        raise ValidationError(_("Write the text in at least one language."), code="empty")
    return cleaned


def _clean_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()[:40]
        if tag:
            seen.setdefault(tag, None)
    return list(seen)[:20]


def do_save_saved_reply(
    actor: Actor,
    workspace: Workspace,
    *,
    title: str,
    versions: dict[str, str],
    shortcut: str = "",
    tags: Iterable[str] = (),
    saved_reply: SavedReply | None = None,
) -> SavedReply:
    """Create or change a saved reply and replace its versions ({language: text}).

    Refused (ValidationError) before anything is written: an empty title, no
    text at all, a variable that does not exist, a shortcut already taken.
    """
    require(actor, Permission.MANAGE_SAVED_REPLIES, workspace.pk)
    if saved_reply is not None and saved_reply.workspace_id != workspace.pk:
        raise SavedReply.DoesNotExist
    title = title.replace("\x00", "").strip()[:MAX_TITLE_LENGTH]
    if not title:
        raise ValidationError(_("Give it a title."), code="title")
    cleaned = _clean_versions(versions)
    shortcut = shortcut.strip().lstrip("/").lower()[:40]
    reply = saved_reply or SavedReply(
        workspace=workspace, created_by=actor if isinstance(actor, Member) else None
    )
    reply.title, reply.shortcut, reply.tags = title, shortcut, _clean_tags(tags)
    reply.updated_at = clock.now()
    reply.full_clean(exclude=["workspace", "created_by", "usage_count"], validate_constraints=False)
    taken = SavedReply.objects.filter(workspace=workspace, shortcut=shortcut).exclude(pk=reply.pk)
    if shortcut and taken.exists():
        raise ValidationError(_("Another saved reply has this shortcut."), code="shortcut")
    try:
        with transaction.atomic():
            reply.save()
            reply.versions.exclude(language__in=list(cleaned)).delete()
            for language, text in cleaned.items():
                SavedReplyVersion.objects.update_or_create(
                    saved_reply=reply, language=language, defaults={"text": text}
                )
            _log_settings(
                workspace.pk,
                actor,
                "saved_reply",
                id=reply.pk,
                title=reply.title,
                languages=sorted(cleaned),
            )
    except IntegrityError as exc:  # the same shortcut saved at the same moment
        raise ValidationError(_("Another saved reply has this shortcut."), code="shortcut") from exc
    return reply


def do_delete_saved_reply(actor: Actor, saved_reply: SavedReply) -> None:
    require(actor, Permission.MANAGE_SAVED_REPLIES, saved_reply.workspace_id)
    with transaction.atomic():
        _log_settings(
            saved_reply.workspace_id,
            actor,
            "saved_reply_deleted",
            id=saved_reply.pk,
            title=saved_reply.title,
        )
        saved_reply.delete()


def _count_usage(workspace_id: int, saved_reply_ids: Iterable[int]) -> None:
    """One more use of each saved reply (of this workspace) a sent reply was written from."""
    ids = sorted({int(i) for i in saved_reply_ids})
    if ids:
        SavedReply.objects.filter(workspace_id=workspace_id, pk__in=ids).update(
            usage_count=F("usage_count") + 1
        )


# --- approvals: the policy -------------------------------------------------------------


def do_save_approval_policy(
    actor: Actor,
    workspace: Workspace,
    *,
    roles: Iterable[str] = (),
    members: Iterable[Member] = (),
    channels: Iterable[Channel] = (),
) -> ApprovalPolicy:
    """Say whose replies (roles, members) and replies to which channels wait for approval."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    role_list = sorted({str(r) for r in roles})
    if any(r not in Role.values for r in role_list):
        raise ValidationError(_("Unknown role."), code="role")
    member_list, channel_list = list(members), list(channels)
    if any(m.workspace_id != workspace.pk for m in member_list) or any(
        c.workspace_id != workspace.pk for c in channel_list
    ):
        raise PermissionDenied("object of another workspace")
    with transaction.atomic():
        policy, _created = ApprovalPolicy.objects.get_or_create(workspace=workspace)
        policy.roles = role_list
        policy.updated_at = clock.now()
        policy.save(update_fields=["roles", "updated_at"])
        policy.members.set(member_list)
        policy.channels.set(channel_list)
        _log_settings(
            workspace.pk,
            actor,
            "approval_policy",
            roles=role_list,
            members=[m.pk for m in member_list],
            channels=[c.pk for c in channel_list],
        )
    return policy


def needs_approval(actor: Actor, conversation: Conversation) -> bool:
    """Whether a reply by `actor` in `conversation` must wait for an approver.

    Automations (rules) are configured by members who may, and approvers approve
    themselves: neither is held.
    """
    if not isinstance(actor, Member) or actor.can(Permission.APPROVE_REPLIES):
        return False
    policy = ApprovalPolicy.objects.filter(workspace_id=conversation.workspace_id).first()
    if policy is None:
        return False
    return (
        actor.role in policy.roles
        or policy.members.filter(pk=actor.pk).exists()
        or policy.channels.filter(pk=conversation.channel_id).exists()
    )


# --- approvals: submitting, approving, rejecting ---------------------------------------------


def _check_sendable(conversation: Conversation, text: str, private: bool) -> str:
    """The checks do_reply makes before writing, made when the reply is held (same messages)."""
    text = text.replace("\x00", "").strip()
    if not text:
        raise ActionRefused(_("The text is empty."))
    if len(text) > MAX_TEXT_LENGTH:
        raise ActionRefused(_("The text is too long."))
    try:
        cls = connector_class(conversation.channel.platform)
    except UnknownPlatform as exc:
        raise ActionRefused(_("This channel cannot send this kind of reply.")) from exc
    if conversation.kind == ConversationKind.PRIVATE:
        capability = Capability.SEND_PRIVATE
    else:
        capability = Capability.PRIVATE_REPLY if private else Capability.REPLY
    if capability not in cls.capabilities:
        raise ActionRefused(_("This channel cannot send this kind of reply."))
    if len(text) > cls.max_reply_length:
        raise ActionRefused(
            _("The platform accepts at most %(limit)d characters.")
            % {"limit": cls.max_reply_length}
        )
    return text


def do_submit_reply(
    actor: Actor,
    conversation: Conversation,
    text: str,
    *,
    private: bool = False,
    saved_reply_ids: Sequence[int] = (),
    seen: Seen | None = None,
    then_close: bool = False,
) -> Message | PendingReply:
    """Send a reply, or hold it for approval when the workspace's policy says so.

    Sent: `inbox.actions.do_reply` (a Message and its Outbox row; `seen` and
    `then_close` as there). Held: a PendingReply and an Activity, nothing else;
    nothing reaches the outbox, and the conversation stays open until the reply is
    approved. A held reply is stopped by a collision like a sent one. The saved
    replies it was written from count one use once it is sent.
    """
    require(actor, Permission.REPLY, conversation.workspace_id)
    if not needs_approval(actor, conversation):
        with transaction.atomic():
            message = do_reply(
                actor, conversation, text, private=private, seen=seen, then_close=then_close
            )
            _count_usage(conversation.workspace_id, saved_reply_ids)
        return message
    assert isinstance(actor, Member)  # needs_approval holds members only
    text = _check_sendable(conversation, text, private)
    with transaction.atomic():
        if seen is not None:
            Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
            collision.check(conversation.pk, actor, seen)
        pending = PendingReply.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            author=actor,
            text=text,
            is_private=private,
            saved_reply_ids=sorted({int(i) for i in saved_reply_ids}),
            created_at=clock.now(),
        )
        _log(conversation, Verb.REPLY_SUBMITTED, actor, pending=pending.pk)
    return pending


def _decide(
    actor: Actor, pending: PendingReply, state: PendingState, comment: str = ""
) -> PendingReply:
    """Move a pending reply to `state`, once: a second approver finds it already decided."""
    require(actor, Permission.APPROVE_REPLIES, pending.workspace_id)
    now = clock.now()
    done = PendingReply.objects.filter(pk=pending.pk, state=PendingState.PENDING).update(
        state=state,
        decided_by=actor if isinstance(actor, Member) else None,
        decided_at=now,
        comment=comment,
    )
    if not done:
        raise ActionRefused(_("This reply was already decided."))
    pending.refresh_from_db()
    return pending


def do_approve_reply(actor: Actor, pending: PendingReply, text: str | None = None) -> Message:
    """Approve a held reply (edited first when `text` is given): do_reply sends it, as its author.

    The author is the reply's author in the timeline; the Activity `reply_approved`
    says who approved. An author who may no longer reply (deactivated, or a role
    without `reply`) is replaced by the approver.
    """
    require(actor, Permission.APPROVE_REPLIES, pending.workspace_id)
    conversation = Conversation.objects.select_related("channel").get(pk=pending.conversation_id)
    if text is not None:  # a browser's textarea sends its line breaks as CRLF
        text = text.replace("\r\n", "\n")
    edited = text is not None and text.strip() != pending.text
    final = _check_sendable(
        conversation, text if text is not None else pending.text, pending.is_private
    )
    author = pending.author
    sender: Actor = (
        author
        if author is not None and author.is_active and author.can(Permission.REPLY)
        else actor
    )
    with transaction.atomic():
        pending = _decide(actor, pending, PendingState.APPROVED)
        message = do_reply(sender, conversation, final, private=pending.is_private)
        _count_usage(conversation.workspace_id, pending.saved_reply_ids)
        PendingReply.objects.filter(pk=pending.pk).update(message=message, text=final)
        _log(
            conversation,
            Verb.REPLY_APPROVED,
            actor,
            pending=pending.pk,
            notify=[author.pk] if author else [],
            author_id=author.pk if author else None,
            author=author.name if author else "",
            edited=edited,
            # What the author wrote, when the approver changed it (the sent text is the message's).
            original_text=pending.text if edited else "",
            message=message.pk,
        )
    return message


def do_reject_reply(actor: Actor, pending: PendingReply, comment: str = "") -> PendingReply:
    """Reject a held reply with a comment: nothing is sent; the author is told (Activity)."""
    comment = comment.replace("\x00", "").strip()[:MAX_COMMENT_LENGTH]
    conversation = Conversation.objects.get(pk=pending.conversation_id)
    with transaction.atomic():
        pending = _decide(actor, pending, PendingState.REJECTED, comment)
        author = pending.author
        _log(
            conversation,
            Verb.REPLY_REJECTED,
            actor,
            pending=pending.pk,
            # Who is told: the notifications read `notify` (member ids).
            notify=[author.pk] if author else [],
            author_id=author.pk if author else None,
            author=author.name if author else "",
            comment=comment,
        )
    return pending


def do_withdraw_reply(actor: Actor, pending: PendingReply) -> PendingReply:
    """The author takes back a reply still awaiting approval (to rewrite it)."""
    if not isinstance(actor, Member) or pending.author_id != actor.pk:
        raise PermissionDenied("only the author withdraws a reply")
    require(actor, Permission.REPLY, pending.workspace_id)
    with transaction.atomic():
        done = PendingReply.objects.filter(pk=pending.pk, state=PendingState.PENDING).update(
            state=PendingState.WITHDRAWN, decided_by=actor, decided_at=clock.now()
        )
        if not done:
            raise ActionRefused(_("This reply was already decided."))
        conversation = Conversation.objects.get(pk=pending.conversation_id)
        _log(conversation, Verb.REPLY_WITHDRAWN, actor, pending=pending.pk)
    pending.refresh_from_db()
    return pending
