"""The inbox's bulk bar: start a bulk action, follow its progress, undo it.

HTMX partials drawn into `#bulk-status` (above the list); the progress partial
polls itself while the worker runs the job. Every write goes through
`inbox.bulk`; every lookup is scoped by the member's workspace.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Member

from . import queries
from .actions import ActionRefused
from .bulk import MAX_SELECTION, do_start_bulk, do_undo_bulk
from .choices import BULK_ACTIVE_STATES, BulkOperation
from .models import BulkJob


def _job_for(member: Member, pk: int) -> BulkJob:
    job = (
        BulkJob.objects.filter(workspace_id=member.workspace_id, pk=pk)
        .select_related("actor__user", "undone_by__user")
        .first()
    )
    if job is None:
        raise Http404
    return job


def _render_job(
    request: HttpRequest, job: BulkJob | None, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "inbox/_bulk_job.html",
        {"job": job, "error": error, "active_states": BULK_ACTIVE_STATES},
        status=status,
    )


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values[:MAX_SELECTION]:
        pk = queries._int_or_none(value)
        if pk is not None and pk > 0:
            ids.append(pk)
    return ids


def _assignee(member: Member, value: str) -> Member | None:
    if value == "me":
        return member
    if value in ("", "none"):
        return None
    pk = queries._int_or_none(value)
    if pk is None:
        raise ActionRefused(_("Unknown member."))
    return queries.member_for(member, pk)


@require_POST
@member_required("view")
def start(request: HttpRequest) -> HttpResponse:
    """Start a bulk action over the ticked rows, or over every row matching the list's filters."""
    member = current_member(request)
    operation = request.POST.get("operation", "")
    try:
        filters = None
        if request.POST.get("scope") == "filter":
            # Re-parsed and re-written: only the filters the list knows travel to the job.
            filters = queries.InboxFilters.from_query(
                QueryDict(request.POST.get("filters", ""))
            ).querystring()
        assignee = (
            _assignee(member, request.POST.get("assignee", ""))
            if operation == BulkOperation.ASSIGN
            else None
        )
        job = do_start_bulk(
            member,
            operation,
            ids=_ids(request.POST.getlist("ids")),
            filters=filters,
            assignee=assignee,
            tag=request.POST.get("tag", ""),
        )
    except ActionRefused as exc:
        return _render_job(request, None, error=str(exc), status=422)
    except PermissionDenied:
        return _render_job(request, None, error=_("Your role does not allow this."), status=403)
    return _render_job(request, job)


@require_GET
@member_required("view")
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a bulk job stands (the partial polls itself while it runs)."""
    return _render_job(request, _job_for(current_member(request), pk))


@require_POST
@member_required("view")
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    job = _job_for(member, pk)
    try:
        job = do_undo_bulk(member, job)
    except ActionRefused as exc:
        return _render_job(request, job, error=str(exc), status=422)
    except PermissionDenied:
        return _render_job(request, job, error=_("Your role does not allow this."), status=403)
    return _render_job(request, _job_for(member, pk))


@require_GET
@member_required("view")
def count(request: HttpRequest) -> HttpResponse:
    """How many conversations match the list's filters (for "select all N matching")."""
    member = current_member(request)
    filters = queries.InboxFilters.from_query(request.GET)
    total = queries.filtered_conversations(member, filters).values("pk").distinct().count()
    return render(request, "inbox/_bulk_all.html", {"total": total})


__all__ = ["count", "progress", "start", "undo"]
