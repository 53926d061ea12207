"""The team inbox: three panes, the conversation pane and the buttons that call actions.

Function views rendering Django templates; HTMX requests get partials (a pane),
plain requests the full page, so every URL is shareable and works without
JavaScript. Every lookup is scoped by the member's workspace (queries.*_for),
every write goes through an action.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cercle.connectors.base import MODERATION_ACTIONS, ActionKind, Capability
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core import clock
from cercle.inbox.choices import OutboxState
from cercle.moderation import citation
from cercle.moderation.choices import Intent, Sentiment
from cercle.replies.actions import do_submit_reply
from cercle.replies.forms import used_saved_replies
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Member
from cercle.workspaces.queries import team_in

from . import collision, queries
from .actions import (
    ActionRefused,
    do_add_note,
    do_assign_conversation,
    do_assign_team,
    do_change_status,
    do_moderate_message,
    do_retry_delivery,
    do_save_draft,
    do_tag_conversation,
    do_untag_conversation,
)
from .choices import ConversationKind, Direction, Kind, Status
from .collision import AlreadySent, Collision, Seen
from .models import Conversation, Message

ViewFunc = Callable[..., HttpResponse]


def inbox_view(permission: str = "view") -> Callable[[ViewFunc], ViewFunc]:
    """A page of the inbox: a member with `permission` (the middleware sets time zone and CSP)."""
    return member_required(permission)


def _member(request: HttpRequest) -> Member:
    return current_member(request)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _htmx_target(request: HttpRequest) -> str:
    htmx = getattr(request, "htmx", None)
    return (htmx.target or "") if htmx else ""


# --- reading ----------------------------------------------------------------------


def _list_context(request: HttpRequest, filters: queries.InboxFilters) -> dict[str, Any]:
    """The list pane's context; the side counts come from the per-workspace cache."""
    member = _member(request)
    page = queries.conversation_page(member, filters)
    channels = queries.workspace_channels(member)  # read once for both panes
    return {
        "filters": filters,
        "page": page,
        "view_counts": queries.view_counts(member, page.latest_activity_id, channels),
        "choices": queries.filter_choices(member, page.latest_activity_id, channels),
        "statuses": Status.choices,
        "kinds": Kind.choices,
        "sentiments": Sentiment.choices,
        "intents": Intent.choices,
        "can_bulk": member.can("assign"),
    }


@require_GET
@inbox_view("view")
def index(request: HttpRequest) -> HttpResponse:
    """`/`: the three panes; an HTMX request aimed at the list gets the list (and fresh counts)."""
    filters = queries.InboxFilters.from_query(request.GET)
    context = _list_context(request, filters)
    if _htmx_target(request) == "list":
        # The filter form triggered it: do not replace the form the user is typing in.
        context["swap_filters"] = getattr(request, "htmx").trigger != "filters"  # noqa: B009
        return render(request, "inbox/_list_response.html", context)
    context["has_conversation"] = False
    return render(request, "inbox/index.html", context)


@require_GET
@inbox_view("view")
def views_pane(request: HttpRequest) -> HttpResponse:
    """The left pane alone (live counts refresh)."""
    filters = queries.InboxFilters.from_query(request.GET)
    return render(
        request,
        "inbox/_views.html",
        {"filters": filters, "view_counts": queries.view_counts(_member(request))},
    )


@require_GET
@inbox_view("view")
def new_count(request: HttpRequest) -> JsonResponse:
    """How many conversations of the current filters received something since the list was drawn."""
    filters = queries.InboxFilters.from_query(request.GET)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    return JsonResponse({"count": queries.new_since(_member(request), filters, after)})


def _capabilities(conversation: Conversation) -> tuple[frozenset[str], int]:
    try:
        cls = connector_class(conversation.channel.platform)
    except UnknownPlatform:
        return frozenset(), 0
    return frozenset(str(c) for c in cls.capabilities), cls.max_reply_length


def allowed_moderation(message: Message) -> list[ActionKind]:
    """The moderation actions the platform allows on this item, in display order."""
    try:
        cls = connector_class(message.channel.platform)
    except UnknownPlatform:
        return []
    allowed = cls.moderation_actions(message.kind, is_private=message.is_private)
    return [action for action in MODERATION_ACTIONS if action in allowed]


def _offered_actions(item: queries.TimelineItem) -> list[str]:
    """The buttons under one inbound item: what applies, minus what is done or under way."""
    m = item.message
    if m is None or m.direction != Direction.INBOUND or not m.external_id or m.deleted_at:
        return []
    offered = []
    for action in allowed_moderation(m):
        if action in item.moderation_pending:
            continue
        if action == ActionKind.HIDE and m.is_hidden:
            continue
        if action == ActionKind.UNHIDE and not m.is_hidden:
            continue
        if action == ActionKind.LIKE and ActionKind.LIKE in item.moderated:
            continue
        if action == ActionKind.BAN and item.author_banned:
            continue
        if action == ActionKind.UNBAN and not item.author_banned:
            continue
        offered.append(str(action))
    return offered


def _platform_label(platform: str) -> str:
    try:
        return str(connector_class(platform).label)
    except UnknownPlatform:
        return platform


def _shown_filters(request: HttpRequest) -> queries.InboxFilters:
    """The filters of the list on screen: in the URL, or sent along with a button's form."""
    if request.method == "POST" and "filters" in request.POST:
        return queries.InboxFilters.from_query(QueryDict(request.POST.get("filters", "")))
    return queries.InboxFilters.from_query(request.GET)


def _timeline_page(request: HttpRequest, conversation: Conversation) -> queries.TimelinePage:
    """The latest messages; `?before=<id>` the page before that message; `?full=1` them all;
    `?since=<id>` every message from that one on."""
    if request.method == "GET" and request.GET.get("full") == "1":
        return queries.timeline(conversation, full=True)
    before = request.GET.get("before", "") if request.method == "GET" else ""
    # A live refresh sends the oldest message shown, so earlier pages opened stay open.
    since = request.GET.get("since", "") if request.method == "GET" else ""
    return queries.timeline(
        conversation,
        before=int(before) if before.isdigit() else None,
        since=int(since) if since.isdigit() and not before else None,
    )


def conversation_context(
    request: HttpRequest, conversation: Conversation, error: str = ""
) -> dict[str, Any]:
    """Everything the conversation pane shows."""
    member = _member(request)
    caps, max_length = _capabilities(conversation)
    is_private_thread = conversation.kind == ConversationKind.PRIVATE
    can_public = (Capability.SEND_PRIVATE if is_private_thread else Capability.REPLY) in caps
    can_private = not is_private_thread and Capability.PRIVATE_REPLY in caps
    filters = _shown_filters(request)
    reply_gone = queries.reply_target_deleted(conversation)
    can_reply = member.can("reply") and (can_public or can_private) and not reply_gone
    # What the reply box was drawn from, taken before the timeline: at worst a warning too many.
    reply_seen = collision.latest_activity_id(conversation.pk)
    page = _timeline_page(request, conversation)
    items = page.items
    if member.can("moderate"):
        for item in items:
            if item.message is not None:
                item.message.channel = conversation.channel
                item.actions = _offered_actions(item)
    return {
        "conversation": conversation,
        "timeline": items,
        "timeline_earlier": page.earlier,
        "timeline_first": page.first_message_id,
        "others": queries.other_conversations(conversation),
        "moderation_history": queries.contact_moderation(conversation),
        "capabilities": caps,
        "max_reply_length": max_length,
        "can_public": can_public,
        "can_private": can_private,
        "is_private_thread": is_private_thread,
        "can_reply": can_reply,
        # The reply box's mode when nothing was typed: a public answer where one is possible.
        "default_mode": ("reply" if can_public else "private") if can_reply else "note",
        "reply_gone": reply_gone,
        "can_note": member.can("note"),
        "can_assign": member.can("assign"),
        "can_moderate": member.can("moderate"),
        "members": queries.workspace_members(member),
        "tags": queries.workspace_tags(member),
        "platform_label": _platform_label(conversation.channel.platform),
        "error": error,
        "filters": filters,
        "statuses": Status.choices,
        "reply_seen": reply_seen,
        "send_key": collision.new_send_key(),
        **_saved_draft(member, conversation, can_reply, can_public, can_private),
    }


def _saved_draft(
    member: Member, conversation: Conversation, can_reply: bool, can_public: bool, can_private: bool
) -> dict[str, str]:
    """The member's server draft of this conversation, if it can still be sent the way it was written."""
    # When the draft was read (server clock, ms): the page tells a copy the server lost (sent or
    # discarded elsewhere) from one it got only after this page was drawn.
    read_at = int(clock.now().timestamp() * 1000)
    draft = queries.draft_for(member, conversation)
    allowed = {
        "note": member.can("note"),
        "reply": can_reply and can_public,
        "private": can_reply and can_private,
    }
    if draft is None or not allowed.get(draft.mode, False):
        return {"saved_draft_text": "", "saved_draft_mode": "", "draft_read_at": str(read_at)}
    return {
        "saved_draft_text": draft.text,
        "saved_draft_mode": draft.mode,
        "draft_read_at": str(read_at),
    }


@require_GET
@inbox_view("view")
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    """`/c/<id>/`: the right pane for HTMX, the whole inbox with it open otherwise."""
    conv = queries.conversation_for(_member(request), pk)
    if _is_htmx(request) and _htmx_target(request) == "conversation":
        return render(request, "inbox/_conversation.html", conversation_context(request, conv))
    filters = queries.InboxFilters.from_query(request.GET)
    context = _list_context(request, filters)
    context.update(conversation_context(request, conv))
    context["has_conversation"] = True
    return render(request, "inbox/index.html", context)


@require_GET
@inbox_view("view")
def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline alone (live refresh without touching the reply box); with `?before=<id>`,
    the page of items before that message (the "earlier messages" link swaps itself for it)."""
    conv = queries.conversation_for(_member(request), pk)
    context = conversation_context(request, conv)
    if request.GET.get("before"):
        return render(request, "inbox/_timeline_items.html", context)
    return render(request, "inbox/_timeline.html", context)


# --- writing ------------------------------------------------------------------------


def _after_action(
    request: HttpRequest,
    conv: Conversation,
    error: str = "",
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Re-draw the conversation pane (HTMX) or go back to the conversation page."""
    member = _member(request)
    conv = queries.conversation_for(member, conv.pk)
    if _is_htmx(request):
        context = conversation_context(request, conv, error=error)
        # The list row shows status, assignee and SLA: update it in place (out of band),
        # or take it out of the list when it no longer belongs there (closed from "All open").
        context["update_row"] = not error
        if not error:
            shown = _shown_filters(request)
            context["row_left_list"] = not queries.in_list(member, shown, conv)
        context.update(extra or {})
        return render(request, "inbox/_conversation.html", context, status=status)
    if error:
        messages.error(request, error)
    url = reverse("inbox:conversation", args=[conv.pk])
    back = request.POST.get("filters", "")
    return redirect(f"{url}?{back}" if back and "\n" not in back else url)


def _guarded(
    request: HttpRequest,
    conv: Conversation,
    action: Callable[[], object],
    *,
    on_error: dict[str, Any] | None = None,
    on_success: dict[str, Any] | None = None,
) -> HttpResponse:
    """Run `action`; refusals and missing permissions become a clear message in the pane.

    `on_error` / `on_success` add to the re-drawn pane's context (the reply box
    keeps what was typed after a refusal, and starts empty after a send).
    """
    try:
        action()
    except Collision as exc:
        return _stopped(request, conv, exc, on_error or {})
    except AlreadySent:
        # A second submission of what already went out (double click, replay): nothing more.
        return _after_action(request, conv, extra=on_success)
    except ActionRefused as exc:
        return _after_action(request, conv, error=str(exc), status=422, extra=on_error)
    except PermissionDenied:
        error = _("Your role does not allow this.")
        return _after_action(request, conv, error=error, status=403, extra=on_error)
    return _after_action(request, conv, extra=on_success)


def _stopped(
    request: HttpRequest, conv: Conversation, exc: Collision, kept: dict[str, Any]
) -> HttpResponse:
    """A reply stopped because the conversation changed: keep the text, show what changed."""
    member = _member(request)
    with contextlib.suppress(ActionRefused, PermissionDenied):
        do_save_draft(member, conv, kept.get("draft_text", ""), kept.get("draft_mode", "reply"))
    extra = {
        **kept,
        "collision": exc,
        # The box now carries what the member is shown: "send anyway" sends unless more changed.
        "reply_seen": exc.latest_id,
        "collision_then": request.POST.get("then", ""),
    }
    # Without htmx the page comes back with the text restored from the draft and this message.
    error = (
        "" if _is_htmx(request) else _("Not sent: the conversation changed since you opened it.")
    )
    return _after_action(request, conv, error=error, status=409, extra=extra)


SEND_MODES = ("reply", "private", "note")


@require_POST
@inbox_view("view")
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """The reply box: public reply, private reply, or internal note."""
    member = _member(request)
    conv = queries.conversation_for(member, pk)
    mode = request.POST.get("mode", "")
    text = request.POST.get("text", "")
    if mode not in SEND_MODES:
        # No silent default: a form that lost its mode must not turn a note into a reply.
        return _after_action(
            request,
            conv,
            error=_("Choose how to send it: reply or note."),
            status=422,
            extra={"draft_text": text},
        )
    # After a send the box is empty and back to its default mode, and the browser's
    # draft of it is dropped; after a refusal it keeps the text in the mode it was written.
    kept = {"draft_text": text, "draft_mode": mode}
    sent = {"sent_draft": True}
    seen = Seen.from_form(request.POST)
    if mode == "note":
        return _guarded(
            request,
            conv,
            lambda: do_add_note(member, conv, text, send_key=seen.send_key if seen else ""),
            on_error=kept,
            on_success=sent,
        )
    return _guarded(
        request,
        conv,
        lambda: do_submit_reply(
            member,
            conv,
            text,
            private=mode == "private",
            saved_reply_ids=used_saved_replies(request.POST),
            seen=seen,
            then_close=request.POST.get("then") == "close",
        ),
        on_error=kept,
        on_success=sent,
    )


@require_POST
@inbox_view("view")
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign to me, to a member, or unassign (empty value)."""
    member = _member(request)
    conv = queries.conversation_for(member, pk)
    value = request.POST.get("assignee", "")
    if value.startswith("team:"):  # a team (workflow/_team_options.html); its members get it
        team_id = value.removeprefix("team:")
        if team_id != "none" and not team_id.isdigit():
            return _after_action(request, conv, error=_("Unknown team."), status=422)
        team = team_in(member.workspace, int(team_id)) if team_id.isdigit() else None
        return _guarded(request, conv, lambda: do_assign_team(member, conv, team))
    assignee: Member | None
    if value == "me":
        assignee = member
    elif value in ("", "none"):
        assignee = None
    else:
        try:
            assignee = queries.member_for(member, int(value))
        except ValueError:
            return _after_action(request, conv, error=_("Unknown member."), status=422)
    return _guarded(request, conv, lambda: do_assign_conversation(member, conv, assignee))


def snooze_time(value: str, now: datetime | None = None) -> datetime | None:
    """When a snooze ends: a preset ("1h", "3h", "tomorrow", "nextweek") or a local date-time."""
    now = timezone.localtime(now or timezone.now())
    morning = time(9, 0)
    if value == "1h":
        return now + timedelta(hours=1)
    if value == "3h":
        return now + timedelta(hours=3)
    if value == "tomorrow":
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), morning))
    if value == "nextweek":
        days = 7 - now.weekday()
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=days), morning))
    parsed = parse_datetime(value) if value else None
    if parsed is not None and not 1 < parsed.year < 9999:
        # Shown in another time zone, the last year overflows: every page of it would crash.
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@require_POST
@inbox_view("view")
def change_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Close, reopen, mark pending, snooze until a time."""
    member = _member(request)
    conv = queries.conversation_for(member, pk)
    status = request.POST.get("status", "")
    until = None
    until_reply = status == Status.SNOOZED and request.POST.get("snooze") == "reply"
    if status == Status.SNOOZED and not until_reply:
        try:
            until = snooze_time(request.POST.get("until", "") or request.POST.get("snooze", ""))
        except ValueError:
            until = None
    return _guarded(
        request,
        conv,
        lambda: do_change_status(member, conv, status, snooze_until=until, until_reply=until_reply),
    )


@require_POST
@inbox_view("view")
def tag(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(request)
    conv = queries.conversation_for(member, pk)
    name = request.POST.get("name", "")
    return _guarded(request, conv, lambda: do_tag_conversation(member, conv, name))


@require_POST
@inbox_view("view")
def untag(request: HttpRequest, pk: int, tag_pk: int) -> HttpResponse:
    member = _member(request)
    conv = queries.conversation_for(member, pk)
    the_tag = queries.tag_for(member, tag_pk)
    return _guarded(request, conv, lambda: do_untag_conversation(member, conv, the_tag))


@require_POST
@inbox_view("view")
def moderate(request: HttpRequest, message_pk: int) -> HttpResponse:
    """Hide, unhide, delete, like a message or ban its author, where the platform allows it."""
    member = _member(request)
    message = queries.message_for(member, message_pk)
    conv = queries.conversation_for(member, message.conversation_id)
    try:
        kind = ActionKind(request.POST.get("action", ""))
    except ValueError:
        return _after_action(request, conv, error=_("Unknown action."), status=422)
    if kind not in MODERATION_ACTIONS:
        return _after_action(request, conv, error=_("Unknown action."), status=422)
    if kind not in allowed_moderation(message):
        return _after_action(
            request, conv, error=_("The platform does not allow this on this item."), status=422
        )
    try:
        cited = citation.cited_house_rule(
            message.workspace_id, kind, request.POST.get("house_rule", "")
        )
    except ActionRefused as exc:
        return _after_action(request, conv, error=str(exc), status=422)
    return _guarded(
        request, conv, lambda: do_moderate_message(member, message, kind, house_rule=cited)
    )


@require_POST
@inbox_view("view")
def retry(request: HttpRequest, outbox_pk: int) -> HttpResponse:
    """Try a failed delivery again."""
    member = _member(request)
    outbox = queries.outbox_for(member, outbox_pk)
    if outbox.conversation_id is None:
        return redirect("inbox:index")
    conv = queries.conversation_for(member, outbox.conversation_id)
    if not member.can("reply"):
        return _after_action(request, conv, error=_("Your role does not allow this."), status=403)
    if outbox.state != OutboxState.FAILED:
        return _after_action(request, conv, error=_("This delivery has not failed."), status=422)
    do_retry_delivery(member, outbox)
    return _after_action(request, conv)


def list_url(filters: queries.InboxFilters, **overrides: Any) -> str:
    """The inbox URL for these filters (used by templates through the tag library)."""
    query = filters.querystring(**overrides)
    return reverse("inbox:index") + (f"?{query}" if query else "")


__all__ = ["conversation_context", "list_url", "snooze_time"]
