"""Bulk actions over many conversations, run by the worker in chunks, with progress and undo.

`do_start_bulk` freezes the conversations a member chose (ticked ones, or every
one matching the list's filters, not only the page on screen) as BulkItem rows
and queues the job. The worker applies it `CHUNK_SIZE` conversations per
transaction (`do_run_bulk_chunk`): set-based UPDATEs, bulk-inserted Activity
rows, and, on each item, what the conversation was before. `done` grows after
each chunk, which the progress bar reads.

`do_undo_bulk` queues the undo; `do_run_undo_chunk` restores each field the
job changed, but only where nobody changed it since: the field still holds
what the job wrote *and* no Activity about that field (a status change, an
assignment, that tag) was logged on the conversation after the job's own row.
A conversation someone reopened, reassigned or re-tagged meanwhile is left as
it is and counted as "kept".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import QueryDict
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.core.db_bulk import insert_values
from cercle.workspaces.actors import actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Member

from .actions import ActionRefused
from .choices import (
    BULK_ACTIVE_STATES,
    SPAM_TAG,
    BulkItemState,
    BulkOperation,
    BulkState,
    Status,
)
from .models import BulkItem, BulkJob, Conversation, Tag
from .queries import InboxFilters, filtered_conversations

# Conversations per transaction: short enough to keep row locks brief and the
# progress bar moving, long enough that the per-chunk overhead stays small.
CHUNK_SIZE = 500
# The most ids one explicit selection may carry (a page is 50 rows; shift-clicks add up).
MAX_SELECTION = 5_000
SCOPE_SELECTION = "selection"
SCOPE_FILTER = "filter"
# The Activity verbs that say a field changed: a later one means someone else touched it.
_STATUS_VERBS = frozenset({Verb.STATUS_CHANGED})
_ASSIGN_VERBS = frozenset({Verb.ASSIGNED, Verb.UNASSIGNED})
_TAG_VERBS = frozenset({Verb.TAGGED, Verb.UNTAGGED})


def _job_tag(workspace_id: int, name: str) -> Tag:
    name = " ".join(name.replace("\x00", "").split())[:60]
    if not name:
        raise ActionRefused(_("The tag is empty."))
    tag, _created = Tag.objects.get_or_create(workspace_id=workspace_id, name=name)
    return tag


def _parameters(actor: Member, operation: str, assignee: Member | None, tag: str) -> dict[str, Any]:
    if operation == BulkOperation.ASSIGN:
        if assignee is not None and assignee.workspace_id != actor.workspace_id:
            raise PermissionDenied("assignee of another workspace")
        if assignee is not None and not assignee.is_active:
            raise ActionRefused(_("This member has been deactivated."))
        return {
            "assignee_id": assignee.pk if assignee else None,
            "assignee": assignee.name if assignee else "",
        }
    if operation in (BulkOperation.TAG, BulkOperation.SPAM):
        the_tag = _job_tag(actor.workspace_id, SPAM_TAG if operation == BulkOperation.SPAM else tag)
        return {"tag_id": the_tag.pk, "tag": the_tag.name}
    return {}


def _chosen_ids(
    actor: Member, ids: Sequence[int] | None, filters: str | None
) -> tuple[str, list[int]]:
    """(scope, conversation ids in the actor's workspace), ids of other workspaces dropped."""
    if filters is not None:
        parsed = InboxFilters.from_query(QueryDict(filters))
        matching = filtered_conversations(actor, parsed).values_list("pk", flat=True)
        return SCOPE_FILTER, sorted(set(matching))
    wanted = sorted({int(pk) for pk in ids or ()})[:MAX_SELECTION]
    # Only the actor's workspace: an id of another workspace is ignored, as if it did not exist.
    found = Conversation.objects.filter(workspace_id=actor.workspace_id, pk__in=wanted)
    return SCOPE_SELECTION, sorted(found.values_list("pk", flat=True))


def do_start_bulk(
    actor: Member,
    operation: str,
    *,
    ids: Sequence[int] | None = None,
    filters: str | None = None,
    assignee: Member | None = None,
    tag: str = "",
) -> BulkJob:
    """Queue `operation` over the ticked `ids`, or over every conversation matching `filters`.

    `filters` is the list's query string (as in the URL); when given, `ids` is
    ignored. Conversations of another workspace are never part of a job.
    """
    require(actor, Permission.ASSIGN, actor.workspace_id)
    if operation not in BulkOperation.values:
        raise ActionRefused(_("Unknown bulk action."))
    with transaction.atomic():
        parameters = _parameters(actor, operation, assignee, tag)
        scope, chosen = _chosen_ids(actor, ids, filters)
        if not chosen:
            raise ActionRefused(_("No conversation is selected."))
        job = BulkJob.objects.create(
            workspace_id=actor.workspace_id,
            actor=actor,
            operation=operation,
            parameters=parameters,
            scope=scope,
            filters=(filters or "")[:2000],
            total=len(chosen),
            created_at=clock.now(),
        )
        insert_values(BulkItem, [{"job_id": job.pk, "conversation_id": pk} for pk in chosen])
        transaction.on_commit(_enqueue_run)
    return job


def _enqueue_run() -> None:
    from .tasks import run_bulk_jobs  # tasks imports this module

    run_bulk_jobs.enqueue()


def _activity(
    job: BulkJob, conversation: _Row, verb: str, now: datetime, **data: Any
) -> dict[str, Any]:
    return {
        "workspace_id": job.workspace_id,
        "conversation_id": conversation.pk,
        "channel_id": conversation.channel_id,
        "verb": verb,
        "data": {**data, "bulk": job.pk},
        "created_at": now,
        **actor_fields(job.actor),
    }


def _insert_activities(rows: list[dict[str, Any]]) -> int | None:
    """Insert the chunk's Activity rows; the highest id written (the chunk's mark), if any."""
    ids = insert_values(Activity, rows, returning=True)
    return max(ids) if ids else None


def _actor_may_act(job: BulkJob) -> bool:
    actor = job.actor
    return actor is not None and actor.is_active and actor.can(Permission.ASSIGN)


class _Row(NamedTuple):
    """What a chunk reads of a conversation (plain tuples: model instances cost more than the SQL)."""

    pk: int
    channel_id: int
    status: str
    assignee_id: int | None


def _locked_conversations(job: BulkJob, items: list[BulkItem]) -> dict[int, _Row]:
    ids = [item.conversation_id for item in items]
    rows = (
        Conversation.objects.select_for_update()
        .filter(workspace_id=job.workspace_id, pk__in=ids)
        .order_by("pk")
        .values_list("pk", "channel_id", "status", "assignee_id")
    )
    return {row[0]: _Row(*row) for row in rows}


def _fail(job: BulkJob, message: str, now: datetime) -> None:
    job.state = BulkState.FAILED
    job.error = message
    job.finished_at = now
    job.save(update_fields=["state", "error", "finished_at"])


def do_run_bulk_chunk(job_id: int, size: int = CHUNK_SIZE) -> bool:
    """Apply the job to its next `size` conversations, in one transaction; whether work is left."""
    now = clock.now()
    with transaction.atomic():
        job = (
            BulkJob.objects.select_for_update(of=("self",))
            .select_related("actor__user")
            .filter(pk=job_id, state__in=[BulkState.QUEUED, BulkState.RUNNING])
            .first()
        )
        if job is None:
            return False
        if not _actor_may_act(job):
            _fail(job, "the member who started it may no longer do it", now)
            return False
        if job.state == BulkState.QUEUED:
            job.state, job.started_at = BulkState.RUNNING, now
        items = list(
            BulkItem.objects.filter(job=job, state=BulkItemState.PENDING).order_by("id")[:size]
        )
        changed = _apply(job, items, now) if items else 0
        job.done += len(items)
        job.changed += changed
        left = BulkItem.objects.filter(job=job, state=BulkItemState.PENDING).exists()
        if not left:
            job.state, job.finished_at = BulkState.FINISHED, now
        job.save(update_fields=["state", "started_at", "finished_at", "done", "changed"])
    return left


def _record_before(job: BulkJob, conversation_ids: list[int], **flags: bool) -> None:
    """Copy what these conversations are now onto their items: one UPDATE … SET col = (SELECT …)."""
    if not conversation_ids:
        return
    current = Conversation.objects.filter(pk=OuterRef("conversation_id"))
    BulkItem.objects.filter(job=job, conversation_id__in=conversation_ids).update(
        old_status=Subquery(current.values("status")[:1]),
        old_snoozed_until=Subquery(current.values("snoozed_until")[:1]),
        old_snooze_until_reply=Subquery(current.values("snooze_until_reply")[:1]),
        old_sla_due_at=Subquery(current.values("sla_due_at")[:1]),
        old_assignee_id=Subquery(current.values("assignee_id")[:1]),
        **flags,
    )


def _apply(job: BulkJob, items: list[BulkItem], now: datetime) -> int:
    """Change the chunk's conversations, set-based, after recording on each item what it was.

    Returns how many conversations changed.
    """
    conversations = _locked_conversations(job, items)
    activities: list[dict[str, Any]] = []
    changed: set[int] = set()
    if job.operation in (BulkOperation.TAG, BulkOperation.SPAM):
        changed |= _add_tag(job, conversations, activities, now)
    if job.operation in (BulkOperation.CLOSE, BulkOperation.SPAM):
        closing = [c for c in conversations.values() if c.status != Status.CLOSED]
        _record_before(job, [c.pk for c in closing], status_changed=True)
        for conversation in closing:
            activities.append(
                _activity(
                    job,
                    conversation,
                    Verb.STATUS_CHANGED,
                    now,
                    old=conversation.status,
                    new="closed",
                )
            )
        Conversation.objects.filter(pk__in=[c.pk for c in closing]).update(
            status=Status.CLOSED, snoozed_until=None, snooze_until_reply=False, sla_due_at=None
        )
        changed |= {c.pk for c in closing}
    if job.operation == BulkOperation.ASSIGN:
        changed |= _assign(job, conversations, activities, now)
    mark = _insert_activities(activities)
    chunk = BulkItem.objects.filter(pk__in=[item.pk for item in items])
    chunk.update(state=BulkItemState.UNCHANGED, activity_mark=mark)
    chunk.filter(conversation_id__in=changed).update(state=BulkItemState.CHANGED)
    return len(changed)


def _add_tag(
    job: BulkJob,
    conversations: dict[int, _Row],
    activities: list[dict[str, Any]],
    now: datetime,
) -> set[int]:
    tag_id, name = job.parameters["tag_id"], job.parameters["tag"]
    through = Conversation.tags.through
    has_it = set(
        through.objects.filter(tag_id=tag_id, conversation_id__in=list(conversations)).values_list(
            "conversation_id", flat=True
        )
    )
    adding = [c for pk, c in conversations.items() if pk not in has_it]
    through.objects.bulk_create(
        [through(conversation_id=c.pk, tag_id=tag_id) for c in adding], ignore_conflicts=True
    )
    BulkItem.objects.filter(job=job, conversation_id__in=[c.pk for c in adding]).update(
        tag_added=True
    )
    for conversation in adding:
        activities.append(_activity(job, conversation, Verb.TAGGED, now, tag=name))
    return {c.pk for c in adding}


def _assign(
    job: BulkJob,
    conversations: dict[int, _Row],
    activities: list[dict[str, Any]],
    now: datetime,
) -> set[int]:
    """As do_assign_conversation: the assignee, and a new conversation becomes open."""
    assignee_id = job.parameters.get("assignee_id")
    moving = [c for c in conversations.values() if c.assignee_id != assignee_id]
    opening = [c.pk for c in moving if assignee_id is not None and c.status == Status.NEW]
    _record_before(job, [c.pk for c in moving], assignee_changed=True)
    BulkItem.objects.filter(job=job, conversation_id__in=opening).update(status_changed=True)
    for conversation in moving:
        if assignee_id is None:
            activities.append(_activity(job, conversation, Verb.UNASSIGNED, now))
        else:
            activities.append(
                _activity(
                    job,
                    conversation,
                    Verb.ASSIGNED,
                    now,
                    assignee_id=assignee_id,
                    assignee=job.parameters.get("assignee", ""),
                )
            )
    Conversation.objects.filter(pk__in=[c.pk for c in moving]).update(assignee_id=assignee_id)
    Conversation.objects.filter(pk__in=opening).update(status=Status.OPEN)
    return {c.pk for c in moving}


# --- undo ---------------------------------------------------------------------------


def do_undo_bulk(actor: Member, job: BulkJob) -> BulkJob:
    """Queue the undo of a finished job (see the module's docstring for what it restores)."""
    require(actor, Permission.ASSIGN, job.workspace_id)
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk, workspace_id=actor.workspace_id)
        if job.state != BulkState.FINISHED:
            raise ActionRefused(_("Only a finished bulk action can be undone, once."))
        job.state, job.undone_by = BulkState.UNDOING, actor
        job.save(update_fields=["state", "undone_by"])
        transaction.on_commit(_enqueue_run)
    return job


def _status_written(job: BulkJob) -> str:
    """The status the job gave to the conversations whose status it changed."""
    return Status.OPEN if job.operation == BulkOperation.ASSIGN else Status.CLOSED


def _later_changes(job: BulkJob, items: list[BulkItem]) -> dict[int, set[str]]:
    """Per conversation, the kinds of change ("status", "assignee", "tag") logged after the job's."""
    marks = {item.conversation_id: item.activity_mark or 0 for item in items}
    if not marks:
        return {}
    later = Activity.objects.filter(
        conversation_id__in=list(marks),
        id__gt=min(marks.values()),
        verb__in=[*_STATUS_VERBS, *_ASSIGN_VERBS, *_TAG_VERBS],
    ).values_list("conversation_id", "id", "verb", "data")
    tag = job.parameters.get("tag")
    changes: dict[int, set[str]] = defaultdict(set)
    for conversation_id, activity_id, verb, data in later:
        if activity_id <= marks[conversation_id]:
            continue
        if verb in _STATUS_VERBS:
            changes[conversation_id].add("status")
        elif verb in _ASSIGN_VERBS:
            changes[conversation_id].add("assignee")
        elif isinstance(data, dict) and data.get("tag") == tag:
            changes[conversation_id].add("tag")
    return changes


def do_run_undo_chunk(job_id: int, size: int = CHUNK_SIZE) -> bool:
    """Undo the job on its next `size` changed conversations, in one transaction; whether work is left."""
    now = clock.now()
    with transaction.atomic():
        job = (
            BulkJob.objects.select_for_update(of=("self",))
            .select_related("undone_by__user")
            .filter(pk=job_id, state=BulkState.UNDOING)
            .first()
        )
        if job is None:
            return False
        items = list(
            BulkItem.objects.filter(job=job, state=BulkItemState.CHANGED).order_by("id")[:size]
        )
        undone, kept = _restore(job, items, now) if items else (0, 0)
        job.undone += undone
        job.kept += kept
        left = BulkItem.objects.filter(job=job, state=BulkItemState.CHANGED).exists()
        if not left:
            job.state, job.undone_at = BulkState.UNDONE, now
        job.save(update_fields=["state", "undone_at", "undone", "kept"])
    return left


@dataclass
class _UndoPlan:
    """What the undo of one chunk puts back (conversation ids per field) and what it keeps."""

    job: BulkJob
    now: datetime
    tagged: set[int]
    active: set[int]
    later: dict[int, set[str]]
    statuses: list[int] = field(default_factory=list)
    assignees: list[int] = field(default_factory=list)
    untag: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)

    def log(self, conversation: _Row, verb: str, **data: Any) -> None:
        row = _activity(self.job, conversation, verb, self.now, reason="undo", **data)
        self.activities.append({**row, **actor_fields(self.job.undone_by)})

    def consider(self, item: BulkItem, conversation: _Row | None) -> None:
        """Put back each field of `item` the job wrote and nobody changed since; keep the rest."""
        if conversation is None:
            self.kept.append(item.pk)
            return
        changes = self.later.get(conversation.pk, set())
        parts = [
            self._status(item, conversation, changes) if item.status_changed else True,
            self._assignee(item, conversation, changes) if item.assignee_changed else True,
            self._tag(conversation, changes) if item.tag_added else True,
        ]
        if not all(parts):
            self.kept.append(item.pk)

    def _status(self, item: BulkItem, conversation: _Row, changes: set[str]) -> bool:
        if conversation.status != _status_written(self.job) or "status" in changes:
            return False
        self.statuses.append(conversation.pk)
        self.log(conversation, Verb.STATUS_CHANGED, old=conversation.status, new=item.old_status)
        return True

    def _assignee(self, item: BulkItem, conversation: _Row, changes: set[str]) -> bool:
        old = item.old_assignee_id
        if (
            conversation.assignee_id != self.job.parameters.get("assignee_id")
            or "assignee" in changes
            or (old is not None and old not in self.active)
        ):
            return False
        self.assignees.append(conversation.pk)
        if old is None:
            self.log(conversation, Verb.UNASSIGNED)
        else:
            self.log(conversation, Verb.ASSIGNED, assignee_id=old)
        return True

    def _tag(self, conversation: _Row, changes: set[str]) -> bool:
        if conversation.pk not in self.tagged or "tag" in changes:
            return False
        self.untag.append(conversation.pk)
        self.log(conversation, Verb.UNTAGGED, tag=self.job.parameters.get("tag", ""))
        return True


def _restore(job: BulkJob, items: list[BulkItem], now: datetime) -> tuple[int, int]:
    """Put back what the job changed on the chunk, where nobody changed it since: (undone, kept).

    Which fields go back is decided per conversation (its current values, the
    Activity logged after the job's); the writes are set-based, each restored
    column read from the item's recorded value (UPDATE … SET col = (SELECT …)).
    """
    conversations = _locked_conversations(job, items)
    tag_id = job.parameters.get("tag_id")
    through = Conversation.tags.through
    tagged = (
        set(
            through.objects.filter(
                tag_id=tag_id, conversation_id__in=list(conversations)
            ).values_list("conversation_id", flat=True)
        )
        if tag_id
        else set()
    )
    # A conversation goes back to its former assignee only while that member is active.
    active = set(
        Member.objects.filter(
            workspace_id=job.workspace_id,
            is_active=True,
            pk__in={i.old_assignee_id for i in items if i.old_assignee_id is not None},
        ).values_list("pk", flat=True)
    )
    plan = _UndoPlan(job, now, tagged, active, _later_changes(job, items))
    for item in items:
        plan.consider(item, conversations.get(item.conversation_id))
    recorded = BulkItem.objects.filter(job=job, conversation_id=OuterRef("pk"))
    if plan.statuses:
        Conversation.objects.filter(pk__in=plan.statuses).update(
            status=Subquery(recorded.values("old_status")[:1]),
            snoozed_until=Subquery(recorded.values("old_snoozed_until")[:1]),
            snooze_until_reply=Subquery(recorded.values("old_snooze_until_reply")[:1]),
            sla_due_at=Subquery(recorded.values("old_sla_due_at")[:1]),
        )
    if plan.assignees:
        Conversation.objects.filter(pk__in=plan.assignees).update(
            assignee_id=Subquery(recorded.values("old_assignee_id")[:1])
        )
    if plan.untag:
        through.objects.filter(tag_id=tag_id, conversation_id__in=plan.untag).delete()
    insert_values(Activity, plan.activities)
    chunk = BulkItem.objects.filter(pk__in=[item.pk for item in items])
    chunk.update(state=BulkItemState.UNDONE)
    chunk.filter(pk__in=plan.kept).update(state=BulkItemState.KEPT)
    return len(items) - len(plan.kept), len(plan.kept)


def do_run_bulk_jobs(max_chunks: int = 1000) -> int:
    """The worker's drain: every queued, running or undoing job, chunk after chunk. Chunks run."""
    chunks = 0
    for job_id, state in (
        BulkJob.objects.filter(state__in=BULK_ACTIVE_STATES)
        .order_by("id")
        .values_list("id", "state")
    ):
        step = do_run_undo_chunk if state == BulkState.UNDOING else do_run_bulk_chunk
        more = True
        while more and chunks < max_chunks:
            more = step(job_id)
            chunks += 1
    return chunks


__all__ = [
    "CHUNK_SIZE",
    "do_run_bulk_chunk",
    "do_run_bulk_jobs",
    "do_run_undo_chunk",
    "do_start_bulk",
    "do_undo_bulk",
]
