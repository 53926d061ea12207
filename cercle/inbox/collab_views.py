"""The team's awareness of each other in the inbox: server drafts and live presence.

- `c/<id>/draft/`: the reply box saves its text as the member types (a debounced
  post); it also tells the others this tab is typing.
- `c/<id>/draft/discard/`: throw the draft away (the reply box's "Discard").
- `presence/`: the page's heartbeat (every few seconds while it is visible): where
  this tab is, and, out of band, who else is viewing, typing or drafting in the
  open conversation and on the rows of the list on screen.
- `presence/leave/`: the tab was hidden or closed (a beacon).

None of this is in the Activity log: it changes every few seconds and is nobody's audit.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from cercle.core import clock
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from . import queries
from .actions import (
    ActionRefused,
    do_discard_draft,
    do_leave_presence,
    do_record_presence,
    do_save_draft,
)
from .collision import Seen
from .views import _after_action

_TAB = re.compile(r"^[A-Za-z0-9-]{8,40}$")
# The rows of one list page, and a margin.
MAX_ROWS = 200


def _tab(request: HttpRequest) -> str:
    tab = request.POST.get("tab", "")
    return tab if _TAB.match(tab) else ""


def _ids(value: str) -> list[int]:
    ids = []
    for part in value.split(",")[:MAX_ROWS]:
        if part.strip().isdigit():
            ids.append(int(part))
    return ids


@require_POST
@member_required("view")
def save_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """Autosave of the reply box: 204, or 422 when the draft cannot be kept (too long, wrong mode)."""
    member = current_member(request)
    conv = queries.conversation_for(member, pk)
    seen = Seen.from_form(request.POST)
    try:
        do_save_draft(
            member,
            conv,
            request.POST.get("text", ""),
            request.POST.get("mode", ""),
            send_key=seen.send_key if seen else "",
        )
    except (ActionRefused, PermissionDenied):
        return HttpResponse(status=422)
    tab = _tab(request)
    if tab and request.POST.get("typing") == "1":
        do_record_presence(member, tab, conv, typing=True)
    response = HttpResponse(status=204)
    # When the server had it (its clock, ms): compared with the time a page read the drafts.
    response["X-Cercle-Saved-At"] = str(int(clock.now().timestamp() * 1000))
    return response


@require_POST
@member_required("view")
def discard_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """The reply box's "Discard": the draft is gone, the box empty and back to its default mode."""
    member = current_member(request)
    conv = queries.conversation_for(member, pk)
    do_discard_draft(member, conv)
    return _after_action(request, conv, extra={"sent_draft": True})


@require_POST
@member_required("view")
def heartbeat(request: HttpRequest) -> HttpResponse:
    """This tab is here (on a conversation or the list); answers who else is, out of band."""
    member = current_member(request)
    open_ids = _ids(request.POST.get("conversation", ""))
    conv = queries.conversation_for(member, open_ids[0]) if open_ids else None
    tab = _tab(request)
    if tab:
        do_record_presence(member, tab, conv)
    rows = _ids(request.POST.get("rows", ""))
    around = queries.awareness(member, rows + ([conv.pk] if conv else []))
    return render(
        request,
        "inbox/_presence_oob.html",
        {
            "conversation_id": conv.pk if conv else None,
            "here": around.get(conv.pk) if conv else None,
            "rows": [(row, around[row]) for row in rows if row in around],
        },
    )


@require_POST
@member_required("view")
def leave(request: HttpRequest) -> HttpResponse:
    """The tab went away (hidden or closed): its presence ends now rather than at expiry."""
    tab = _tab(request)
    if tab:
        do_leave_presence(current_member(request), tab)
    return HttpResponse(status=204)
