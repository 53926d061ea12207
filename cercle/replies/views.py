"""Pages of saved replies and approvals, and the `/` picker of the reply box.

Reads go through `queries` (scoped by workspace: another workspace's object is a
404), writes through `actions` (which check the role again).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.inbox import queries as inbox_queries
from cercle.inbox.actions import ActionRefused
from cercle.inbox.views import conversation_context
from cercle.workspaces.choices import Permission, Role
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.views import roles_allowed

from . import queries
from .actions import (
    do_approve_reply,
    do_delete_saved_reply,
    do_reject_reply,
    do_save_approval_policy,
    do_save_saved_reply,
    do_withdraw_reply,
)
from .forms import ApprovalPolicyForm, SavedReplyForm
from .models import PendingReply
from .variables import VARIABLES

# --- saved replies ----------------------------------------------------------------------


@require_GET
@member_required(Permission.VIEW)
def saved_replies(request: HttpRequest) -> HttpResponse:
    """`/settings/replies/`: every saved reply, its languages and how often it was used."""
    member = current_member(request)
    query = request.GET.get("q", "")[:100]
    return render(
        request,
        "replies/settings.html",
        {
            "saved_replies": queries.search_saved_replies(member, query),
            "q": query,
            "can_manage": member.can(Permission.MANAGE_SAVED_REPLIES),
            "who_may_change": roles_allowed(Permission.MANAGE_SAVED_REPLIES),
            "variables": VARIABLES,
            "active_tab": "replies",
        },
    )


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_SAVED_REPLIES)
def saved_reply_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    saved_reply = queries.saved_reply_for(member, pk) if pk is not None else None
    form = SavedReplyForm(request.POST or None, workspace=member.workspace, saved_reply=saved_reply)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_saved_reply(
                member,
                member.workspace,
                title=form.cleaned_data["title"],
                shortcut=form.cleaned_data["shortcut"] or "",
                tags=form.tag_list(),
                versions=form.versions(),
                saved_reply=saved_reply,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Saved reply saved."))
            return redirect("replies:settings")
    title = _("Edit the saved reply") if saved_reply else _("New saved reply")
    return render(
        request,
        "replies/form.html",
        {"form": form, "title": title, "saved_reply": saved_reply, "active_tab": "replies"},
    )


@require_POST
@member_required(Permission.MANAGE_SAVED_REPLIES)
def saved_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    do_delete_saved_reply(member, queries.saved_reply_for(member, pk))
    messages.success(request, _("Saved reply deleted."))
    return redirect("replies:settings")


@require_GET
@member_required(Permission.REPLY)
def picker(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The `/` picker's results for one conversation: each saved reply filled for it."""
    member = current_member(request)
    conversation = inbox_queries.conversation_for(member, conversation_pk)
    query = request.GET.get("q", "")[:100]
    return render(
        request,
        "replies/_picker_results.html",
        {"results": queries.picker_results(member, conversation, query), "q": query},
    )


# --- approvals ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required(Permission.VIEW)
def approval_settings(request: HttpRequest) -> HttpResponse:
    """`/settings/approvals/`: whose replies wait for an approver."""
    member = current_member(request)
    policy = queries.approval_policy(member.workspace_id)
    form = ApprovalPolicyForm(request.POST or None, workspace=member.workspace, policy=policy)
    can_manage = member.can(Permission.MANAGE_WORKFLOW)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(Permission.MANAGE_WORKFLOW)
        if form.is_valid():
            do_save_approval_policy(
                member,
                member.workspace,
                roles=form.cleaned_data["roles"],
                members=form.cleaned_data["members"],
                channels=form.cleaned_data["channels"],
            )
            messages.success(request, _("Approval policy saved."))
            return redirect("replies:approval_settings")
    return render(
        request,
        "replies/approval_settings.html",
        {
            "form": form,
            "policy": policy,
            "held_roles": [
                label for value, label in Role.choices if policy and value in policy.roles
            ],
            "can_manage": can_manage,
            "who_may_change": roles_allowed(Permission.MANAGE_WORKFLOW),
            "who_approves": roles_allowed(Permission.APPROVE_REPLIES),
            "active_tab": "approvals",
        },
    )


@require_GET
@member_required(Permission.VIEW)
def approvals(request: HttpRequest) -> HttpResponse:
    """`/approvals/`: replies awaiting approval (an approver sees all, an author their own)."""
    member = current_member(request)
    return render(
        request,
        "replies/approvals.html",
        {
            "queue": queries.approval_queue(member),
            "decided": queries.recent_decisions(member),
            "can_approve": member.can(Permission.APPROVE_REPLIES),
            "who_approves": roles_allowed(Permission.APPROVE_REPLIES),
        },
    )


def _after_decision(
    request: HttpRequest, pending: PendingReply, error: str = "", done: str = ""
) -> HttpResponse:
    """Back to the conversation pane (a button in it) or to the approvals page."""
    member = current_member(request)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "conversation":
        conversation = inbox_queries.conversation_for(member, pending.conversation_id)
        context = conversation_context(request, conversation, error=error)
        return render(request, "inbox/_conversation.html", context, status=422 if error else 200)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return redirect("replies:approvals")


def _decide(request: HttpRequest, pk: int, decide: str) -> HttpResponse:
    member = current_member(request)
    pending = queries.pending_reply_for(member, pk)
    try:
        if decide == "approve":
            do_approve_reply(member, pending, text=request.POST.get("text"))
            done = _("Approved: the reply is on its way.")
        elif decide == "reject":
            do_reject_reply(member, pending, request.POST.get("comment", ""))
            done = _("Rejected: the author is told.")
        else:
            do_withdraw_reply(member, pending)
            done = _("Withdrawn: nothing was sent.")
    except ActionRefused as exc:
        return _after_decision(request, pending, error=str(exc))
    except PermissionDenied:
        return _after_decision(request, pending, error=_("Your role does not allow this."))
    return _after_decision(request, pending, done=done)


@require_POST
@member_required(Permission.VIEW)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a held reply, with the text as the approver left it (edited or not)."""
    return _decide(request, pk, "approve")


@require_POST
@member_required(Permission.VIEW)
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "reject")


@require_POST
@member_required(Permission.VIEW)
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "withdraw")
