"""Reads of the API, always scoped by the token's workspace (another workspace's id is a 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from cercle.connectors.models import Channel
from cercle.inbox.models import Contact, Conversation, Message
from cercle.moderation.models import Rule
from cercle.workspaces.models import Member

from .models import ApiToken


def conversations_with_rows(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """What each conversation of a response shows, fetched with it (no query per row)."""
    return qs.select_related("channel", "contact", "assignee__user", "post").prefetch_related(
        "tags"
    )


def messages_of(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=conversation.pk, workspace_id=conversation.workspace_id
    ).select_related("author_identity", "author_member__user")


def contacts_of(member: Member, q: str = "") -> QuerySet[Contact]:
    """The workspace's contacts (those merged into another are left out), matching `q` by name."""
    qs = Contact.objects.filter(workspace_id=member.workspace_id, merged_into__isnull=True)
    q = q.replace("\x00", "").strip()
    return qs.filter(display_name__icontains=q) if q else qs


def contact_for(member: Member, pk: int) -> Contact:
    try:
        return Contact.objects.get(pk=pk, workspace_id=member.workspace_id)
    except Contact.DoesNotExist as exc:
        raise Http404 from exc


def contact_conversation_ids(contact: Contact, limit: int = 100) -> list[int]:
    """The contact's conversations, most recent first."""
    return list(
        Conversation.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk)
        .order_by("-id")
        .values_list("pk", flat=True)[:limit]
    )


def channels_of(member: Member) -> list[Channel]:
    return list(Channel.objects.filter(workspace_id=member.workspace_id).order_by("name", "id"))


def rules_of(member: Member) -> list[Rule]:
    return list(Rule.objects.filter(workspace_id=member.workspace_id).order_by("position", "id"))


def members_of(member: Member) -> list[Member]:
    return list(
        Member.objects.filter(workspace_id=member.workspace_id)
        .select_related("user")
        .order_by("id")
    )


def tokens_for_page(member: Member, *, everyone: bool) -> list[ApiToken]:
    """The tokens the settings page lists: the member's own, or the whole workspace's."""
    qs = ApiToken.objects.filter(workspace_id=member.workspace_id).select_related("member__user")
    if not everyone:
        qs = qs.filter(member_id=member.pk)
    return list(qs.order_by("-id"))


def token_in(member: Member, pk: int) -> ApiToken:
    try:
        return ApiToken.objects.select_related("member").get(
            pk=pk, workspace_id=member.workspace_id
        )
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
