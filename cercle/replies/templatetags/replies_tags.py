"""What the inbox's templates show of replies: held replies in a conversation, the approvals link."""

from __future__ import annotations

from django import template

from cercle.inbox.models import Conversation
from cercle.notifications.templatetags.notification_tags import header_facts
from cercle.replies import queries
from cercle.replies.models import PendingReply
from cercle.workspaces.choices import Permission
from cercle.workspaces.models import Member

register = template.Library()


@register.simple_tag
def pending_replies(conversation: Conversation, member: Member | None) -> list[PendingReply]:
    """The conversation's replies awaiting approval (none for a page without a member)."""
    if member is None:
        return []
    return queries.pending_for_conversation(member, conversation)


@register.simple_tag
def approvals_waiting(member: Member | None) -> int:
    """How many replies wait: all of them for an approver, one's own for an author."""
    if member is None:
        return 0
    # Read with the bell's counts in one query (the header shows both).
    return header_facts(member).approvals_waiting


@register.filter
def can_approve(member: Member | None) -> bool:
    """`member|can_approve`: whether the member's role approves held replies."""
    return member is not None and member.can(Permission.APPROVE_REPLIES)
