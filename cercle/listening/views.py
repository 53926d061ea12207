"""The listening page: searches, their mentions, volume per day, alerts, and Promote."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cercle.core import clock
from cercle.moderation.choices import Sentiment
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from . import alerts, queries
from .actions import ListeningRefused, do_create_search, do_promote_mention, do_update_search
from .forms import SearchForm

VOLUME_DAYS = 14
PAGE = 100


@require_GET
@member_required(Permission.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    now = clock.now()
    rows = [(s, alerts.check(s, now)) for s in queries.searches(member.workspace_id)]
    return render(
        request,
        "listening/index.html",
        {
            "rows": rows,
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
            "has_channels": bool(queries.search_channels(member.workspace_id)),
        },
    )


@require_GET
@member_required(Permission.VIEW)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    search = queries.search_of(member.workspace_id, pk)
    language = request.GET.get("language", "")[:8]
    sentiment = request.GET.get("sentiment", "")
    if sentiment not in Sentiment.values:
        sentiment = ""
    now = clock.now()
    volume = queries.volume_by_day(search, days=VOLUME_DAYS, until=now)
    languages = sorted(
        {lang for lang in search.mentions.values_list("language", flat=True).distinct() if lang}
    )
    context: dict[str, Any] = {
        "search": search,
        "mentions": queries.mentions(search, language=language, sentiment=sentiment)[:PAGE],
        "language": language,
        "sentiment": sentiment,
        "languages": languages,
        "sentiments": Sentiment.choices,
        "volume": volume,
        "jump": alerts.check(search, now),
        "channels": queries.channels_of(search),
        "unavailable": queries.unavailable_sources(search),
        "can_manage": member.can(Permission.MANAGE_WORKFLOW),
        "can_promote": member.can(Permission.REPLY),
        "chart_data": {
            "labels": [day.isoformat() for day, _t, _n in volume],
            "values": [total for _d, total, _n in volume],
            "negative": [negative for _d, _t, negative in volume],
            "label": _("Mentions per day"),
            "negative_label": _("Negative"),
        },
    }
    return render(request, "listening/detail.html", context)


@member_required(Permission.MANAGE_WORKFLOW)
def edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    search = queries.search_of(member.workspace_id, pk) if pk else None
    channels = queries.search_channels(member.workspace_id)
    args = (request.POST,) if request.method == "POST" else ()
    form = SearchForm(*args, channels=channels, search=search)
    if request.method == "POST" and form.is_valid():
        try:
            if search is None:
                search = do_create_search(member, member.workspace_id, form.fields_to_save())
            else:
                search = do_update_search(member, search, form.fields_to_save())
        except ListeningRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Search saved. New mentions arrive at the next run."))
            return redirect("listening:detail", pk=search.pk)
    return render(
        request, "listening/edit.html", {"form": form, "search": search, "channels": channels}
    )


@require_POST
@member_required(Permission.REPLY)
def promote(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    mention = queries.mention_of(member.workspace_id, pk)
    conversation = do_promote_mention(member, mention)
    messages.success(request, _("The mention is now a conversation in the inbox."))
    return redirect("inbox:conversation", pk=conversation.pk)
