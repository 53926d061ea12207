"""The inbox's side counts (views pane, per-channel open counts, languages seen) are computed once
per workspace and cached until the next Activity; the closed view has a stable, indexed sort."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.inbox import queries
from cercle.inbox.actions import do_assign_conversation, do_change_status
from cercle.inbox.models import Conversation
from tests.conftest import sim_event
from tests.inbox.test_views import login, receive

HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list", "HTTP_HX_TRIGGER": "filters"}


def _side_count_queries(queries_run: CaptureQueriesContext) -> list[str]:
    """The workspace-wide scans of conversations: grouped counts and the distinct languages."""
    found = []
    for q in queries_run.captured_queries:
        sql = q["sql"].upper()
        if "INBOX_CONVERSATION" in sql and ("COUNT(" in sql or "DISTINCT" in sql):
            found.append(q["sql"])
    return found


@pytest.fixture
def lea(client, owner):
    return login(client, "lea")


@pytest.fixture
def three(sim_channel, owner):
    receive(
        sim_channel,
        sim_event("c1", text="Livraison en retard", author={"id": "u1", "name": "Camille"}),
        sim_event("c2", text="Great lamp, thanks", author={"id": "u2", "name": "John"}),
        sim_event("c3", text="Le colis est arrivé cassé", author={"id": "u3", "name": "Inès"}),
    )
    return {c.contact.display_name: c for c in Conversation.objects.select_related("contact")}


def test_counts_match_the_conversations(lea, owner, sim_channel, three):
    do_assign_conversation(owner, three["John"], owner)
    do_change_status(owner, three["Inès"], "closed")
    counts = lea.get(reverse("inbox:index")).context["view_counts"]
    assert counts.counts == {
        "open": 2,
        "mine": 1,
        "unassigned": 1,
        "pending": 0,
        "snoozed": 0,
        "closed": 1,
    }
    assert [(cv.channel.pk, cv.open_count) for cv in counts.channels] == [(sim_channel.pk, 2)]


def test_a_warm_full_page_computes_no_side_count(lea, three):
    lea.get(reverse("inbox:index"))  # fills the cache
    with CaptureQueriesContext(connection) as run:
        response = lea.get(reverse("inbox:index"))
    assert response.status_code == 200
    assert response.context["view_counts"].counts["open"] == 3
    assert _side_count_queries(run) == []


def test_a_cold_page_computes_them_once(lea, three):
    with CaptureQueriesContext(connection) as run:
        lea.get(reverse("inbox:index"))
    # Status counts, open per assignee, open per channel, distinct languages: once each.
    assert len(_side_count_queries(run)) == 4


def test_a_list_partial_runs_no_count_query(lea, three):
    lea.get(reverse("inbox:index"))
    with CaptureQueriesContext(connection) as run:
        response = lea.get(reverse("inbox:index"), {"view": "unassigned"}, **HTMX_LIST)
    assert response.status_code == 200
    assert "Camille" in response.content.decode()
    assert _side_count_queries(run) == []


def test_an_action_refreshes_the_counts(lea, owner, three):
    assert lea.get(reverse("inbox:index")).context["view_counts"].counts["closed"] == 0
    do_change_status(owner, three["Camille"], "closed")
    counts = lea.get(reverse("inbox:index"), **HTMX_LIST).context["view_counts"].counts
    assert counts["closed"] == 1 and counts["open"] == 2


def test_mine_is_per_member_from_one_cache_entry(client, owner, agent, three):
    do_assign_conversation(owner, three["John"], agent)
    assert (
        login(client, "lea").get(reverse("inbox:index")).context["view_counts"].counts["mine"] == 0
    )
    client.logout()
    sam = login(client, "sam")
    with CaptureQueriesContext(connection) as run:
        counts = sam.get(reverse("inbox:index")).context["view_counts"].counts
    assert counts["mine"] == 1
    assert _side_count_queries(run) == []


def test_languages_offered_are_those_seen(lea, owner, three):
    Conversation.objects.filter(pk=three["John"].pk).update(language="en")
    Conversation.objects.filter(pk=three["Inès"].pk).update(language="fr")
    assert lea.get(reverse("inbox:index")).context["choices"]["languages"] == ["en", "fr"]


def test_closed_view_is_most_recent_first_with_ties_by_id(lea, owner, three):
    for c in three.values():
        do_change_status(owner, c, "closed")
    same = three["Camille"].last_activity_at
    Conversation.objects.filter(pk__in=[three["Camille"].pk, three["John"].pk]).update(
        last_activity_at=same
    )
    Conversation.objects.filter(pk=three["Inès"].pk).update(
        last_activity_at=same - timedelta(hours=1)
    )
    rows = lea.get(reverse("inbox:index"), {"view": "closed"}).context["page"].rows
    tied = sorted([three["Camille"].pk, three["John"].pk], reverse=True)
    assert [r.pk for r in rows] == [*tied, three["Inès"].pk]
    status_rows = lea.get(reverse("inbox:index"), {"view": "all", "status": "closed"})
    assert [r.pk for r in status_rows.context["page"].rows] == [*tied, three["Inès"].pk]


def test_closed_only(owner):
    f = queries.InboxFilters.from_query
    from django.http import QueryDict

    assert queries.closed_only(f(QueryDict("view=closed")))
    assert queries.closed_only(f(QueryDict("view=all&status=closed")))
    assert not queries.closed_only(f(QueryDict("view=open")))
    assert not queries.closed_only(f(QueryDict("view=closed&status=open")))


def _list_queries(client) -> int:
    client.get(reverse("inbox:index"), **HTMX_LIST)  # the side counts are cached
    with CaptureQueriesContext(connection) as run:
        response = client.get(reverse("inbox:index"), **HTMX_LIST)
    assert response.status_code == 200
    return len(run.captured_queries)


def test_the_list_runs_the_same_queries_for_3_rows_or_12(lea, owner, agent, sim_channel, three):
    """No query per row: the rows' channel, contact and assignee come with the list."""
    do_assign_conversation(owner, three["John"], agent)
    few = _list_queries(lea)
    receive(
        sim_channel,
        *[
            sim_event(f"more{i}", text=f"Question {i}", author={"id": f"m{i}", "name": f"Fan {i}"})
            for i in range(9)
        ],
    )
    for conversation in Conversation.objects.filter(assignee__isnull=True)[:5]:
        do_assign_conversation(owner, conversation, agent if conversation.pk % 2 else owner)
    html = lea.get(reverse("inbox:index"), **HTMX_LIST).content.decode()
    assert html.count('class="conv-row"') == 12 and html.count('class="avatar"') == 6
    assert _list_queries(lea) == few
