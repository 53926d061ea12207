"""Reads of saved replies and approvals, always scoped by the member's workspace."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from cercle.inbox.models import Conversation
from cercle.inbox.segments import persona_ids, personas_of
from cercle.workspaces.actors import Actor
from cercle.workspaces.models import Member

from .choices import PendingState
from .models import ApprovalPolicy, PendingReply, SavedReply
from .variables import Version, pick_version, render, values_for

# How many saved replies the picker shows at once (the search narrows them).
PICKER_LIMIT = 8


def saved_replies(member: Member) -> QuerySet[SavedReply]:
    return (
        SavedReply.objects.filter(workspace_id=member.workspace_id)
        .prefetch_related("versions")
        .order_by("-usage_count", "title", "id")
    )


def saved_reply_for(member: Member, pk: int) -> SavedReply:
    """One saved reply of the member's workspace; another workspace's is a 404."""
    try:
        return SavedReply.objects.prefetch_related("versions").get(
            pk=pk, workspace_id=member.workspace_id
        )
    except SavedReply.DoesNotExist as exc:
        raise Http404 from exc


def saved_reply_by_reference(workspace_id: int, reference: str) -> SavedReply | None:
    """The saved reply a rule names: by its shortcut (with or without /), or by its id."""
    reference = reference.strip().lstrip("/").strip().lower()
    if not reference:
        return None
    found = SavedReply.objects.filter(workspace_id=workspace_id).prefetch_related("versions")
    by_shortcut = found.filter(shortcut=reference).first()
    if by_shortcut is not None or not reference.isdigit() or len(reference) > 18:
        return by_shortcut
    return found.filter(pk=int(reference)).first()


def search_saved_replies(member: Member, query: str) -> QuerySet[SavedReply]:
    """Saved replies whose title, shortcut, tags or text contain `query` (a leading / is ignored)."""
    query = query.strip().lstrip("/").strip()[:100]
    found = saved_replies(member)
    if query:
        found = found.filter(
            Q(title__icontains=query)
            | Q(shortcut__istartswith=query)
            | Q(versions__text__icontains=query)
        ).distinct()
    return found


@dataclass(frozen=True)
class Filled:
    """A saved reply as it would be sent in one conversation."""

    saved_reply: SavedReply
    language: str
    text: str


def fill(saved_reply: SavedReply, conversation: Conversation, agent: Actor | None) -> Filled | None:
    """The version in the conversation's language with its variables filled (None: no text)."""
    versions = [Version(v.language, v.text) for v in saved_reply.versions.all()]
    workspace = conversation.workspace
    version = pick_version(versions, conversation.language, workspace.languages or [])
    if version is None:
        return None
    text = render(version.text, values_for(conversation, agent))
    return Filled(saved_reply=saved_reply, language=version.language, text=text)


def picker_results(member: Member, conversation: Conversation, query: str) -> list[Filled]:
    """What the `/` picker lists for this conversation: filled for it, best used first."""
    found = list(search_saved_replies(member, query)[:PICKER_LIMIT])
    cache: dict[str, frozenset[int]] = {}
    # The replies tagged for a persona of the contact come first (a stable sort: else unchanged).
    found.sort(key=lambda reply: not fits_persona(reply, conversation, cache))
    return [f for f in (fill(r, conversation, member) for r in found) if f is not None]


PERSONA_TAG = "persona:"


def fits_persona(
    reply: SavedReply, conversation: Conversation, cache: dict[str, frozenset[int]]
) -> bool:
    """Whether the reply is tagged for a persona the conversation's contact is in (a tag
    "persona:<name or number>"): such replies are offered first."""
    references = [t[len(PERSONA_TAG) :] for t in reply.tags or [] if t.startswith(PERSONA_TAG)]
    if not references or conversation.contact_id is None:
        return False
    if "held" not in cache:
        held = personas_of(conversation.workspace_id, [conversation.contact_id])
        cache["held"] = held.get(conversation.contact_id, frozenset())
    return bool(persona_ids(conversation.workspace_id, references) & cache["held"])


def approval_policy(workspace_id: int) -> ApprovalPolicy | None:
    return (
        ApprovalPolicy.objects.filter(workspace_id=workspace_id)
        .prefetch_related("members", "channels")
        .first()
    )


def pending_for_conversation(member: Member, conversation: Conversation) -> list[PendingReply]:
    """Replies of this conversation awaiting approval (the conversation is the member's)."""
    if conversation.workspace_id != member.workspace_id:
        return []
    return list(
        PendingReply.objects.filter(conversation=conversation, state=PendingState.PENDING)
        .select_related("author__user")
        .order_by("id")
    )


def approval_queue(member: Member) -> QuerySet[PendingReply]:
    """Replies awaiting approval: all of them for an approver, one's own for the others."""
    queue = PendingReply.objects.filter(
        workspace_id=member.workspace_id, state=PendingState.PENDING
    )
    if not member.can("approve_replies"):
        queue = queue.filter(author=member)
    return queue.select_related(
        "author__user", "conversation__contact", "conversation__channel"
    ).order_by("id")


def recent_decisions(member: Member, limit: int = 20) -> QuerySet[PendingReply]:
    """The latest approved or rejected replies (an approver sees all, an author their own)."""
    done = PendingReply.objects.filter(workspace_id=member.workspace_id).exclude(
        state=PendingState.PENDING
    )
    if not member.can("approve_replies"):
        done = done.filter(author=member)
    return done.select_related(
        "author__user", "decided_by__user", "conversation__contact"
    ).order_by("-decided_at", "-id")[:limit]


def pending_reply_for(member: Member, pk: int) -> PendingReply:
    try:
        return PendingReply.objects.select_related(
            "author__user", "conversation__channel", "conversation__contact"
        ).get(pk=pk, workspace_id=member.workspace_id)
    except PendingReply.DoesNotExist as exc:
        raise Http404 from exc


def pending_count(member: Member) -> int:
    return approval_queue(member).count()
