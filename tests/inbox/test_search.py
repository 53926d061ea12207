"""Full-text search: words anywhere in history, scoped by workspace, hostile syntax inert."""

from __future__ import annotations

import pytest

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_add_note, do_receive
from cercle.inbox.models import Conversation, Message
from cercle.inbox.search import fts5_query, matching_conversation_ids
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_create_workspace
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def convs(sim_channel):
    receive(
        sim_channel,
        sim_event("c1", text="Ma commande n'est jamais arrivée", author={"id": "u1", "name": "A"}),
        sim_event("c2", text="Where is my parcel?", author={"id": "u2", "name": "B"}),
    )
    return {c.contact.display_name: c.pk for c in Conversation.objects.select_related("contact")}


def test_finds_by_word(workspace, convs):
    assert matching_conversation_ids(workspace.pk, "parcel") == [convs["B"]]


def test_all_words_must_match(workspace, convs):
    assert matching_conversation_ids(workspace.pk, "commande parcel") == []


def test_prefix_and_accents(workspace, convs):
    assert matching_conversation_ids(workspace.pk, "arrivee comm") == [convs["A"]]


def test_edited_text_is_reindexed(workspace, sim_channel, convs):
    receive(
        sim_channel,
        sim_event("c2", op="edit", text="Where is my lamp?", author={"id": "u2", "name": "B"}),
    )
    assert (
        matching_conversation_ids(workspace.pk, "parcel"),
        matching_conversation_ids(workspace.pk, "lamp"),
    ) == (
        [],
        [convs["B"]],
    )


def test_deleted_rows_leave_the_index(workspace, convs):
    Message.objects.filter(external_id="c2").delete()
    assert matching_conversation_ids(workspace.pk, "parcel") == []


def test_notes_are_searchable(workspace, owner, convs):
    do_add_note(owner, Conversation.objects.get(pk=convs["A"]), "client VIP fidèle")
    assert matching_conversation_ids(workspace.pk, "fidele") == [convs["A"]]


def test_other_workspace_is_not_searched(convs):
    other = do_create_workspace("Other")
    channel = do_create_channel(other, "simulator", "Other forum", external_id="o-1")
    receive(channel, sim_event("o1", text="parcel lost"))
    assert matching_conversation_ids(other.pk, "parcel") != [] and convs[
        "B"
    ] not in matching_conversation_ids(other.pk, "parcel")


@pytest.mark.parametrize(
    "query",
    [
        '"',
        'parcel"',
        "*",
        "parcel*",
        "NEAR(parcel my)",
        "parcel OR",
        "AND",
        "(",
        ")",
        "-parcel",
        "col:parcel",
        "^",
        "'; DROP TABLE inbox_message; --",
        "\x00",
    ],
)
def test_hostile_query_syntax_does_not_error(workspace, convs, query):
    matching_conversation_ids(workspace.pk, query)  # must not raise
    assert Message.objects.count() == 2


def test_operator_words_are_plain_words():
    assert fts5_query('NEAR "x" OR*') == '"NEAR"* "x"* "OR"*'


def test_query_without_words_matches_nothing(workspace, convs):
    assert matching_conversation_ids(workspace.pk, '"*()') == []


def test_sqlite_plan_runs_the_match_once_then_fetches_by_key(workspace, convs):
    from django.db import connection

    from cercle.inbox.search import _text_ids, search_terms

    if connection.vendor != "sqlite":
        pytest.skip("SQLite plan")
    sql, params = _text_ids(workspace.pk, "parcel", search_terms("parcel"))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    # The FTS table is the outer loop; messages are then looked up by primary key.
    assert "SEARCH m USING INTEGER PRIMARY KEY" in plan


# --- the list's search: authors, operators, scope ------------------------------------


def _listed(member, **filters):
    from cercle.inbox.queries import InboxFilters, conversation_page

    return sorted(c.pk for c in conversation_page(member, InboxFilters(**filters)).rows)


@pytest.fixture
def people(sim_channel):
    receive(
        sim_channel,
        sim_event(
            "p1",
            text="Superbe lampe",
            author={"id": "u1", "name": "Bernadette Chopin", "handle": "bchopin75"},
        ),
        sim_event(
            "p2",
            text="-50% sur la lampe ? Vraiment ?",
            author={"id": "u2", "name": "Marc Olive", "handle": "marco"},
        ),
    )
    return {c.contact.display_name: c.pk for c in Conversation.objects.select_related("contact")}


def test_search_finds_a_conversation_by_its_authors_name(owner, people):
    assert _listed(owner, q="bernadette") == [people["Bernadette Chopin"]]


def test_search_finds_a_conversation_by_its_authors_handle(owner, people):
    assert _listed(owner, q="@bchopin") == [people["Bernadette Chopin"]]


@pytest.mark.parametrize("query", ["%", "*", "_", "%%", "**", '"*"', "%_%"])
def test_operator_characters_alone_do_not_match_everything(owner, people, query):
    assert people["Bernadette Chopin"] not in _listed(owner, q=query)


def test_a_percent_sign_is_looked_for_as_text(owner, people):
    assert _listed(owner, q="%") == [people["Marc Olive"]]


def test_search_all_history_covers_every_status_and_assignee_from_any_view(owner, agent, people):
    from cercle.inbox.actions import do_assign_conversation, do_change_status

    closed = Conversation.objects.get(pk=people["Bernadette Chopin"])
    do_assign_conversation(owner, closed, agent)
    do_change_status(owner, closed, "closed")
    assert _listed(owner, q="lampe", view="mine") == sorted(people.values())


def test_a_search_narrowed_to_the_view_stays_in_it(owner, people):
    from cercle.inbox.actions import do_change_status

    do_change_status(owner, Conversation.objects.get(pk=people["Bernadette Chopin"]), "closed")
    assert _listed(owner, q="lampe", scope="view") == [people["Marc Olive"]]


def test_the_search_scope_is_shown_with_the_results(client, owner, people):
    from django.urls import reverse

    client.force_login(owner.user)
    response = client.get(reverse("inbox:index"), {"q": "lampe", "view": "closed"})
    assert "Searching all history" in response.content.decode()


def test_a_plain_search_says_it_covers_everything(client, owner, people):
    from django.urls import reverse

    client.force_login(owner.user)
    page = client.get(reverse("inbox:index"), {"q": "lampe"}).content.decode()
    assert "Searching all history: every status, every assignee." in page
