"""The bulk bar's pages: start over ticked rows or a filter, progress partial, undo, roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cercle.inbox.bulk import do_run_bulk_jobs
from cercle.inbox.choices import BulkState, Status
from cercle.inbox.models import BulkJob, Conversation
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role
from tests.inbox.test_bulk import make_conversations


def login(client, username):
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.fixture
def lea(client, owner):
    return login(client, "lea")


def test_the_list_offers_checkboxes_and_the_bulk_bar(lea, sim_channel):
    make_conversations(sim_channel, 2)
    page = lea.get(reverse("inbox:index")).content.decode()
    assert 'id="bulk-form"' in page and page.count('class="bulk-check"') == 2
    assert "js/bulk.js" in page


def test_start_from_ticked_rows_then_follow_and_undo(lea, sim_channel):
    conversations = make_conversations(sim_channel, 3)
    ids = [str(c.pk) for c in conversations[:2]]
    response = lea.post(
        reverse("inbox:bulk_start"), {"operation": "close", "scope": "selection", "ids": ids}
    )
    assert response.status_code == 200
    job = BulkJob.objects.get()
    # While it waits for the worker, the partial polls itself.
    assert 'hx-trigger="every 1s"' in response.content.decode()
    do_run_bulk_jobs()
    done = lea.get(reverse("inbox:bulk_job", args=[job.pk])).content.decode()
    assert "every 1s" not in done and 'id="bulk-undo"' in done
    assert Conversation.objects.filter(status=Status.CLOSED).count() == 2

    lea.post(reverse("inbox:bulk_undo", args=[job.pk]))
    do_run_bulk_jobs()
    job.refresh_from_db()
    assert job.state == BulkState.UNDONE
    assert not Conversation.objects.filter(status=Status.CLOSED).exists()


def test_start_over_every_row_matching_the_filter(lea, sim_channel):
    make_conversations(sim_channel, 60, prefix="fr")  # more than a page of 50
    make_conversations(sim_channel, 5, prefix="en", language="en")
    count = lea.get(reverse("inbox:bulk_count") + "?language=fr").content.decode()
    assert 'data-total="60"' in count
    lea.post(
        reverse("inbox:bulk_start"),
        {"operation": "tag", "tag": "vu", "scope": "filter", "filters": "language=fr"},
    )
    assert BulkJob.objects.get().total == 60
    do_run_bulk_jobs()
    assert Conversation.objects.filter(tags__name="vu").count() == 60
    assert not Conversation.objects.filter(language="en", tags__name="vu").exists()


def test_a_viewer_gets_no_bar_and_is_refused(client, workspace, sim_channel):
    do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    conversations = make_conversations(sim_channel, 1)
    login(client, "vic")
    assert 'id="bulk-form"' not in client.get(reverse("inbox:index")).content.decode()
    response = client.post(
        reverse("inbox:bulk_start"), {"operation": "close", "ids": [conversations[0].pk]}
    )
    assert response.status_code == 403 and not BulkJob.objects.exists()


def test_another_workspaces_job_is_a_404(lea, sim_channel):
    from cercle.inbox.bulk import do_start_bulk
    from cercle.workspaces.actions import do_create_workspace

    other = do_create_workspace("Autre")
    boss = do_add_member(other, do_create_user("zed", "correct horse battery"), Role.OWNER)
    from cercle.pipeline.actions import do_create_channel

    channel = do_create_channel(other, "simulator", "Other", external_id="o-1")
    job = do_start_bulk(boss, "close", ids=[c.pk for c in make_conversations(channel, 1)])
    assert lea.get(reverse("inbox:bulk_job", args=[job.pk])).status_code == 404
    assert lea.post(reverse("inbox:bulk_undo", args=[job.pk])).status_code == 404
