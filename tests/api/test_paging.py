"""Keyset paging: every row once, in order, even when new rows arrive between pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle.inbox.actions import do_reply, do_set_priority
from tests.api.conftest import conversation_of

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _make(channel, n, offset=0):
    return [
        conversation_of(
            channel,
            f"c{offset + i}",
            created_at=(START + timedelta(minutes=(offset + i) % 4)).isoformat(),
        )
        for i in range(n)
    ]


def _walk(api, limit, inserted=None, **params):
    """Every page of the list; `inserted()` runs after the first page."""
    ids, cursor, pages = [], None, 0
    while True:
        query = {**params, "limit": limit}
        if cursor:
            query["cursor"] = cursor
        response = api.get("/conversations", **query)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [c["id"] for c in body["items"]]
        pages += 1
        if pages == 1 and inserted:
            inserted()
        cursor = body["next_cursor"]
        if not cursor:
            return ids, pages


@pytest.mark.parametrize("sort", ["waiting", "newest", "priority"])
def test_every_row_once_in_the_sort_order(owner_api, owner, sim_channel, sort):
    conversations = _make(sim_channel, 7)
    # Mixed keys: priorities, an answered conversation (no waiting_since), NULLs in the sort.
    do_set_priority(owner, conversations[2], 3)
    do_set_priority(owner, conversations[5], 0)
    do_reply(owner, conversations[4], "Merci !")
    expected = [
        c["id"] for c in owner_api.get("/conversations", sort=sort, limit=200).json()["items"]
    ]
    assert sorted(expected) == sorted(c.pk for c in conversations)
    for limit in (1, 2, 3):
        ids, pages = _walk(owner_api, limit, sort=sort)
        assert ids == expected
        assert pages == -(-len(expected) // limit)


@pytest.mark.parametrize("sort", ["waiting", "newest", "priority"])
def test_paging_is_stable_under_inserts(owner_api, sim_channel, sort):
    originals = {c.pk for c in _make(sim_channel, 6)}
    ids, _pages = _walk(owner_api, 2, inserted=lambda: _make(sim_channel, 3, offset=100), sort=sort)
    assert len(ids) == len(set(ids))  # nothing twice
    assert originals <= set(ids)  # nothing skipped


def test_messages_page_oldest_first(owner_api, owner, conversation):
    for i in range(4):
        do_reply(owner, conversation, f"Réponse {i}")
    first = owner_api.get(f"/conversations/{conversation.pk}/messages", limit=2).json()
    second = owner_api.get(
        f"/conversations/{conversation.pk}/messages", limit=2, cursor=first["next_cursor"]
    ).json()
    third = owner_api.get(
        f"/conversations/{conversation.pk}/messages", limit=2, cursor=second["next_cursor"]
    ).json()
    ids = [m["id"] for page in (first, second, third) for m in page["items"]]
    assert ids == sorted(ids) and len(ids) == 5 and third["next_cursor"] is None


def test_a_forged_or_foreign_cursor_is_a_400(owner_api, sim_channel):
    _make(sim_channel, 3)
    cursor = owner_api.get("/conversations", sort="newest", limit=1).json()["next_cursor"]
    assert owner_api.get("/conversations", sort="newest", cursor=cursor).status_code == 200
    other_sort = owner_api.get("/conversations", sort="waiting", cursor=cursor)
    assert other_sort.status_code == 400 and "cursor" in other_sort.json()["detail"]
    assert owner_api.get("/conversations", cursor=cursor[:-3] + "abc").status_code == 400
    assert owner_api.get("/contacts", cursor=cursor).status_code == 400
