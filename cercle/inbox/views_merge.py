"""Merging from the contact panel: another conversation of the contact into this one, and
another contact (found by a search) into this conversation's contact.

Every lookup is scoped by the member's workspace (another workspace's id is a 404);
the writes go through `inbox.merge`.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Member

from . import queries
from .merge import do_merge_contacts, do_merge_conversations
from .models import Contact
from .views import _guarded

# Contacts offered by one search.
SEARCH_LIMIT = 10


def _contact_for(member: Member, pk: int | None) -> Contact:
    contact = (
        Contact.objects.filter(workspace_id=member.workspace_id, pk=pk).first()
        if pk is not None
        else None
    )
    if contact is None:
        raise Http404
    return contact


@require_POST
@member_required("view")
def merge_conversation(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge the chosen conversation (`source`) into the one on screen."""
    member = current_member(request)
    target = queries.conversation_for(member, pk)
    source_pk = queries._int_or_none(request.POST.get("source"))
    if source_pk is None:
        raise Http404
    source = queries.conversation_for(member, source_pk)
    return _guarded(request, target, lambda: do_merge_conversations(member, source, target))


@require_GET
@member_required("view")
def contact_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Contacts of the workspace matching `q` (name or handle), to merge into this conversation's."""
    member = current_member(request)
    conversation = queries.conversation_for(member, pk)
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    found: list[Contact] = []
    if q:
        found = list(
            Contact.objects.filter(workspace_id=member.workspace_id, merged_into__isnull=True)
            .exclude(pk=conversation.contact_id)
            .filter(
                Q(display_name__icontains=q)
                | Q(identities__handle__icontains=q)
                | Q(identities__display_name__icontains=q)
            )
            .distinct()
            .prefetch_related("identities__channel")
            .order_by("display_name", "pk")[:SEARCH_LIMIT]
        )
    return render(
        request,
        "inbox/_merge_contacts.html",
        {"conversation": conversation, "found": found, "q": q},
    )


@require_POST
@member_required("view")
def merge_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge the chosen contact (`source`) into this conversation's contact."""
    member = current_member(request)
    conversation = queries.conversation_for(member, pk)
    source = _contact_for(member, queries._int_or_none(request.POST.get("source")))
    target = _contact_for(member, conversation.contact_id)
    return _guarded(request, conversation, lambda: do_merge_contacts(member, source, target))


__all__ = ["contact_search", "merge_contact", "merge_conversation"]
