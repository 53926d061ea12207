"""What keeps the inbox's list and search fast whatever the size: a fixed number of queries
per page, the search's two paths (few matches, many matches) giving the same answer, the
stored tsvector column on PostgreSQL, the trigram indexes of author search, the sort index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox import queries, search
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message
from cercle.inbox.queries import InboxFilters, conversation_page
from cercle.inbox.search import matching_conversation_ids
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


def _conversations(channel, n, start=0, text="Où est ma commande ?"):
    receive(
        channel,
        *(
            sim_event(f"e{i}", text=f"{text} n°{i}", author={"id": f"u{i}", "name": f"Client {i}"})
            for i in range(start, start + n)
        ),
    )


def _page_queries(client, params=None, htmx=False):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"} if htmx else {}
    client.get(reverse("inbox:index"), params or {}, **headers)  # fills the side-counts cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("inbox:index"), params or {}, **headers)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("params", [{}, {"view": "all"}, {"q": "commande"}])
def test_a_list_page_runs_few_queries_whatever_its_rows(client, owner, sim_channel, params, htmx):
    client.force_login(owner.user)
    _conversations(sim_channel, 2)
    few = _page_queries(client, params, htmx)
    _conversations(sim_channel, 30, start=2)
    # Rows with an assignee, an SLA and a rating: what a row draws is read with the list.
    Conversation.objects.filter(
        pk__in=Conversation.objects.order_by("pk").values("pk")[:20]
    ).update(assignee=owner, sla_due_at=timezone.now(), rating=4)
    many = _page_queries(client, params, htmx)
    # A search reads its matches first: whole words, prefixes, contacts, identities (4 more).
    bound = (7 if htmx else 8) + (4 if "q" in params else 0)
    assert (few, many <= bound) == (many, True)


def _ordered_ids(member, **filters):
    return [c.pk for c in conversation_page(member, InboxFilters(**filters)).rows]


@pytest.mark.parametrize("query", ["commande", "Client", "n°3", "%"])
def test_a_common_word_walks_the_list_and_finds_the_same_page(
    owner, sim_channel, monkeypatch, query
):
    _conversations(sim_channel, 12)
    Message.objects.filter(external_id="e5").update(text="Un colis perdu, 100 % remboursé")
    few_matches = _ordered_ids(owner, q=query)
    # Every search now takes the "many" path.
    monkeypatch.setattr(search, "MATCH_CAP", {"sqlite": 2, "postgresql": 2})
    many_matches = _ordered_ids(owner, q=query)
    assert (many_matches, len(few_matches) > 0) == (few_matches, True)


def test_a_message_edited_later_is_found_by_its_new_words_only(workspace, sim_channel):
    _conversations(sim_channel, 3)
    target = Message.objects.get(external_id="e1")
    target.text = "Le flacon turquoise est arrivé cassé"
    target.save()
    assert (
        matching_conversation_ids(workspace.pk, "turquoise"),
        target.conversation_id in matching_conversation_ids(workspace.pk, "commande"),
    ) == ([target.conversation_id], False)


HOSTILE = "a' & !b | c:* <-> (d) \\ 'x':A <2> NEAR(\"e\") OR * -- ; DROP TABLE inbox_message"


@pytest.mark.parametrize("cap", [1_000, 1])
def test_hostile_text_is_stored_and_searched_as_words(workspace, sim_channel, monkeypatch, cap):
    monkeypatch.setattr(search, "MATCH_CAP", {"sqlite": cap, "postgresql": cap})
    receive(sim_channel, sim_event("h1", text=HOSTILE, author={"id": "h", "name": "Hostile"}))
    receive(sim_channel, sim_event("h2", text="rien à voir", author={"id": "k", "name": "Calme"}))
    hostile = Message.objects.get(external_id="h1").conversation_id
    assert (
        matching_conversation_ids(workspace.pk, HOSTILE),
        matching_conversation_ids(workspace.pk, "drop inbox_message"),
        matching_conversation_ids(workspace.pk, "!b | c:*"),
        Message.objects.count(),
    ) == ([hostile], [hostile], [hostile], 2)


def test_postgresql_keeps_the_stored_vector_of_each_message_up_to_date(workspace, sim_channel):
    if connection.vendor != "postgresql":
        pytest.skip("the stored tsvector column is PostgreSQL's")
    _conversations(sim_channel, 1)
    message = Message.objects.get(external_id="e0")
    Message.objects.filter(pk=message.pk).update(text="Élégante théière")
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM inbox_message WHERE id = %s", [message.pk])
        (vector,) = cursor.fetchone()
    assert vector == "'elegante':1 'theiere':2"


def _plan(sql, params, *, pg_settings=("enable_seqscan",)):
    """The query plan; on PostgreSQL with `pg_settings` off (a few test rows favour a scan)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
            for setting in pg_settings:
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def test_postgresql_search_uses_the_stored_vectors_gin_index(workspace, sim_channel):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plan")
    _conversations(sim_channel, 3)
    # The condition search._text_ids writes, alone (with a few rows the workspace's index wins).
    sql = f"SELECT m.id FROM inbox_message m WHERE m.search_vector @@ {search.PG_QUERY}"
    plan = _plan(sql, [search.pg_tsquery(["commande"])])
    assert "inbox_message_search_vector_idx" in plan


@pytest.mark.parametrize("query", ["nadet", "CHOP", "@rnade", "Bernadette Chopin"])
def test_author_search_finds_part_of_a_name_or_handle(owner, sim_channel, query):
    receive(
        sim_channel,
        sim_event(
            "b1",
            text="Bonjour",
            author={"id": "b", "name": "Bernadette Chopin", "handle": "bernadette75"},
        ),
        sim_event(
            "m1", text="Bonjour", author={"id": "m", "name": "Marc Olive", "handle": "marco"}
        ),
    )
    bernadette = Conversation.objects.get(contact__display_name="Bernadette Chopin").pk
    assert _ordered_ids(owner, q=query) == [bernadette]


def test_postgresql_author_search_uses_the_trigram_indexes(workspace, sim_channel):
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    from cercle.inbox.models import Contact, Identity

    _conversations(sim_channel, 3)
    # The lookups _author_ids makes, alone: Django's icontains must match the indexes' form.
    contacts = Contact.objects.filter(display_name__icontains="nadet").values("pk")
    handles = Identity.objects.filter(handle__icontains="nadet").values("pk")
    plans = " ".join(_plan(*search._sql(qs)) for qs in (contacts, handles))
    assert ("inbox_contact_name_trgm_idx" in plans, "inbox_identity_handle_trgm_idx" in plans) == (
        True,
        True,
    )


def test_the_default_view_is_read_in_index_order_without_sorting(owner, sim_channel):
    _conversations(sim_channel, 5)
    qs = queries._sorted(queries.filtered_conversations(owner, InboxFilters()), "waiting")
    sql, params = qs.query.sql_with_params()
    plan = _plan(sql, params, pg_settings=("enable_seqscan", "enable_sort"))
    # One of migration 0010's indexes (which one depends on the table's statistics), no sort.
    assert ("_sort_idx" in plan, "TEMP B-TREE" in plan, " Sort " in plan) == (
        True,
        False,
        False,
    )
