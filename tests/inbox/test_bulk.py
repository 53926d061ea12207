"""Bulk actions: a job over a selection or a filtered set, applied in chunks, then undone."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core.exceptions import PermissionDenied

from cercle.core.db_bulk import build, insert_rows
from cercle.inbox.actions import (
    ActionRefused,
    do_assign_conversation,
    do_change_status,
    do_tag_conversation,
)
from cercle.inbox.bulk import (
    do_run_bulk_chunk,
    do_run_bulk_jobs,
    do_run_undo_chunk,
    do_start_bulk,
    do_undo_bulk,
)
from cercle.inbox.choices import BulkState, Status
from cercle.inbox.models import BulkJob, Contact, Conversation
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity


def make_conversations(channel, count, *, prefix="t", **values):
    """`count` conversations of `channel`, inserted in a few statements (not one action each)."""
    contact = Contact.objects.create(workspace_id=channel.workspace_id, display_name="Camille")
    rows = [
        {
            "workspace_id": channel.workspace_id,
            "channel_id": channel.pk,
            "contact_id": contact.pk,
            "thread_key": f"{prefix}:{i}",
            "status": Status.OPEN,
            "language": "fr",
            **values,
        }
        for i in range(count)
    ]
    conversations = build(Conversation, rows)
    insert_rows(conversations)
    return conversations


def run_to_end(job):
    while do_run_bulk_chunk(job.pk):
        pass
    job.refresh_from_db()
    return job


def undo_to_end(member, job):
    do_undo_bulk(member, job)
    while do_run_undo_chunk(job.pk):
        pass
    job.refresh_from_db()
    return job


@pytest.fixture
def viewer(workspace):
    return do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)


def test_bulk_close_over_a_filtered_set_of_5000_with_progress_then_undo(owner, sim_channel):
    french = make_conversations(sim_channel, 5000, prefix="fr")
    # Half new, half open, a few snoozed: the undo must give each its own status back.
    new_ids = [c.pk for c in french[::2]]
    Conversation.objects.filter(pk__in=new_ids).update(status=Status.NEW)
    english = make_conversations(sim_channel, 30, prefix="en", language="en")
    filters = urlencode({"view": "all", "language": "fr"})
    before = dict(Conversation.objects.values_list("pk", "status"))

    job = do_start_bulk(owner, "close", filters=filters)
    assert job.total == 5000 and job.state == BulkState.QUEUED

    seen = []
    while do_run_bulk_chunk(job.pk):
        job.refresh_from_db()
        seen.append(job.done)
    job.refresh_from_db()
    seen.append(job.done)
    assert seen == sorted(seen) and len(seen) > 2 and seen[0] < 5000
    assert job.state == BulkState.FINISHED and job.done == 5000 and job.changed == 5000
    assert not Conversation.objects.filter(language="fr").exclude(status=Status.CLOSED).exists()
    # The filter excluded the English ones: untouched.
    assert set(
        Conversation.objects.filter(pk__in=[c.pk for c in english]).values_list("status", flat=True)
    ) == {Status.OPEN}
    logged = Activity.objects.filter(verb=Verb.STATUS_CHANGED, data__bulk=job.pk).count()
    assert logged == 5000

    job = undo_to_end(owner, job)
    assert job.state == BulkState.UNDONE and job.undone == 5000 and job.kept == 0
    assert dict(Conversation.objects.values_list("pk", "status")) == before


def test_undo_keeps_what_someone_changed_after_the_bulk(owner, agent, sim_channel):
    conversations = make_conversations(sim_channel, 3)
    ids = [c.pk for c in conversations]
    job = run_to_end(do_start_bulk(owner, "close", ids=ids))
    # Someone reopened one, and closed it again: same value, but their decision.
    reopened = Conversation.objects.get(pk=ids[0])
    do_change_status(agent, reopened, Status.PENDING)
    twice = Conversation.objects.get(pk=ids[1])
    do_change_status(agent, twice, Status.OPEN)
    do_change_status(agent, twice, Status.CLOSED)

    job = undo_to_end(owner, job)
    statuses = dict(Conversation.objects.values_list("pk", "status"))
    assert statuses == {ids[0]: Status.PENDING, ids[1]: Status.CLOSED, ids[2]: Status.OPEN}
    assert (job.undone, job.kept) == (1, 2)


def test_bulk_assign_then_undo_restores_each_assignee(owner, agent, sim_channel):
    conversations = make_conversations(sim_channel, 4, status=Status.NEW)
    ids = [c.pk for c in conversations]
    do_assign_conversation(owner, conversations[0], owner)  # was owner's; becomes open
    job = run_to_end(do_start_bulk(owner, "assign", ids=ids, assignee=agent))
    rows = Conversation.objects.filter(pk__in=ids)
    assert {c.assignee_id for c in rows} == {agent.pk}
    assert {c.status for c in rows} == {Status.OPEN}
    assert job.changed == 4

    undo_to_end(owner, job)
    after = {c.pk: (c.assignee_id, c.status) for c in Conversation.objects.filter(pk__in=ids)}
    assert after[ids[0]] == (owner.pk, Status.OPEN)
    assert all(after[pk] == (None, Status.NEW) for pk in ids[1:])


def test_bulk_tag_adds_once_and_undo_takes_only_its_own_tags(owner, sim_channel):
    conversations = make_conversations(sim_channel, 3)
    do_tag_conversation(owner, conversations[0], "livraison")  # already tagged: left alone
    job = run_to_end(
        do_start_bulk(owner, "tag", ids=[c.pk for c in conversations], tag="livraison")
    )
    assert job.changed == 2
    tagged = Conversation.objects.filter(tags__name="livraison").count()
    assert tagged == 3
    undo_to_end(owner, job)
    assert list(
        Conversation.objects.filter(tags__name="livraison").values_list("pk", flat=True)
    ) == [conversations[0].pk]


def test_mark_as_spam_tags_spam_and_closes_like_the_rule_action(owner, sim_channel):
    conversations = make_conversations(sim_channel, 2)
    job = run_to_end(do_start_bulk(owner, "spam", ids=[c.pk for c in conversations]))
    for conversation in Conversation.objects.filter(pk__in=[c.pk for c in conversations]):
        assert conversation.status == Status.CLOSED
        assert [t.name for t in conversation.tags.all()] == ["spam"]
    undo_to_end(owner, job)
    for conversation in Conversation.objects.filter(pk__in=[c.pk for c in conversations]):
        assert conversation.status == Status.OPEN and not conversation.tags.exists()


def test_a_viewer_cannot_start_nor_undo(viewer, owner, sim_channel):
    conversations = make_conversations(sim_channel, 2)
    with pytest.raises(PermissionDenied):
        do_start_bulk(viewer, "close", ids=[c.pk for c in conversations])
    job = run_to_end(do_start_bulk(owner, "close", ids=[c.pk for c in conversations]))
    with pytest.raises(PermissionDenied):
        do_undo_bulk(viewer, job)
    assert not BulkJob.objects.filter(actor=viewer).exists()


def test_ids_of_another_workspace_are_ignored(owner, sim_channel):
    other = do_create_workspace("Autre")
    channel = do_create_channel(other, "simulator", "Other forum", external_id="forum-x")
    theirs = make_conversations(channel, 2, prefix="x")
    ours = make_conversations(sim_channel, 1)
    job = run_to_end(do_start_bulk(owner, "close", ids=[*(c.pk for c in theirs), ours[0].pk]))
    assert job.total == 1
    assert set(Conversation.objects.filter(workspace=other).values_list("status", flat=True)) == {
        Status.OPEN
    }
    with pytest.raises(ActionRefused):
        do_start_bulk(owner, "close", ids=[c.pk for c in theirs])


def test_undo_only_once_and_only_when_finished(owner, sim_channel):
    conversations = make_conversations(sim_channel, 2)
    job = do_start_bulk(owner, "close", ids=[c.pk for c in conversations])
    with pytest.raises(ActionRefused):
        do_undo_bulk(owner, job)
    job = undo_to_end(owner, run_to_end(job))
    with pytest.raises(ActionRefused):
        do_undo_bulk(owner, job)


def test_the_worker_drain_runs_start_and_undo(owner, sim_channel):
    conversations = make_conversations(sim_channel, 3)
    job = do_start_bulk(owner, "close", ids=[c.pk for c in conversations])
    assert do_run_bulk_jobs() >= 1
    job.refresh_from_db()
    assert job.state == BulkState.FINISHED
    do_undo_bulk(owner, job)
    do_run_bulk_jobs()
    job.refresh_from_db()
    assert job.state == BulkState.UNDONE


def test_the_scheduler_picks_up_a_job_left_behind(owner, sim_channel, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from cercle.inbox.tasks import run_bulk_jobs
    from cercle.pipeline import worker

    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    conversations = make_conversations(sim_channel, 2)
    do_start_bulk(owner, "close", ids=[c.pk for c in conversations])
    DBTaskResult.objects.all().delete()  # the worker that took it died
    worker.schedule_once(last_poll=float("inf"))
    assert DBTaskResult.objects.filter(task_path=run_bulk_jobs.module_path).count() == 1


def test_a_job_stops_when_its_member_may_no_longer_act(owner, agent, sim_channel):
    from cercle.workspaces.actions import do_deactivate_member

    conversations = make_conversations(sim_channel, 3)
    job = do_start_bulk(agent, "close", ids=[c.pk for c in conversations])
    do_deactivate_member(owner, agent)
    assert do_run_bulk_chunk(job.pk) is False
    job.refresh_from_db()
    assert job.state == BulkState.FAILED and job.done == 0
    assert not Conversation.objects.filter(status=Status.CLOSED).exists()
