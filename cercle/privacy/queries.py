"""Reads of the privacy app, scoped by workspace."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from cercle.inbox.models import Contact, Conversation, Identity, Message
from cercle.workspaces.models import Workspace

from .models import RetentionPolicy


def contact_in(workspace: Workspace, pk: int) -> Contact:
    """A contact of this workspace; another workspace's contact is a 404."""
    try:
        return Contact.objects.get(pk=pk, workspace=workspace)
    except Contact.DoesNotExist as exc:
        raise Http404 from exc


def person_contact_ids(contact: Contact) -> list[int]:
    """The contact and the contacts merged into it: one person."""
    return list(
        Contact.objects.filter(Q(pk=contact.pk) | Q(merged_into=contact))
        .filter(workspace_id=contact.workspace_id)
        .values_list("pk", flat=True)
    )


def identities_of(contact_ids: list[int]) -> QuerySet[Identity]:
    return Identity.objects.filter(contact_id__in=contact_ids).select_related("channel")


def conversations_of(contact_ids: list[int]) -> QuerySet[Conversation]:
    return Conversation.objects.filter(contact_id__in=contact_ids)


def messages_of(workspace_id: int, contact_ids: list[int]) -> QuerySet[Message]:
    """Every message of the person's conversations, and what they wrote in other threads."""
    identity_ids = Identity.objects.filter(contact_id__in=contact_ids).values("pk")
    return Message.objects.filter(workspace_id=workspace_id).filter(
        Q(conversation__contact_id__in=contact_ids) | Q(author_identity_id__in=identity_ids)
    )


def retention_days(workspace: Workspace) -> int | None:
    policy = RetentionPolicy.objects.filter(workspace=workspace).first()
    return policy.message_days if policy else None
