"""The pipeline's bulk writes: what they store, the pks they give back, the errors they raise.

Run on SQLite and PostgreSQL (where from `COPY_FROM_ROWS` rows the insert is a COPY
with pks taken from the table's sequence first).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from cercle.core.db_bulk import (
    COPY_FROM_ROWS,
    any_of,
    build,
    insert_rows,
    insert_values,
    update_rows,
)
from cercle.inbox.choices import Status
from cercle.inbox.models import Contact, Conversation
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity

SIZES = [1, COPY_FROM_ROWS - 1, COPY_FROM_ROWS, 3 * COPY_FROM_ROWS + 7]


@pytest.mark.parametrize("count", SIZES)
def test_insert_values_returns_increasing_pks_of_the_stored_rows(workspace, count):
    names = [f"Camille {i} \u00e9\u00e8 \\ \t tab" for i in range(count)]
    pks = insert_values(
        Contact,
        [{"workspace_id": workspace.pk, "display_name": name} for name in names],
        returning=True,
    )

    assert pks == sorted(pks)
    assert len(set(pks)) == count
    stored = dict(Contact.objects.filter(pk__in=pks).values_list("pk", "display_name"))
    assert [stored[pk] for pk in pks] == names
    # The next row made by the ORM gets a fresh pk: the sequence moved on.
    after = Contact.objects.create(workspace_id=workspace.pk, display_name="Léa")
    assert after.pk > max(pks)


@pytest.mark.parametrize("count", SIZES)
def test_choices_json_and_times_are_stored_as_values(workspace, sim_channel, count):
    contact = Contact.objects.create(workspace_id=workspace.pk, display_name="Hugo")
    conversations = build(
        Conversation,
        [
            {
                "workspace_id": workspace.pk,
                "channel_id": sim_channel.pk,
                "contact_id": contact.pk,
                "thread_key": f"t:{i}",
                "status": Status.OPEN,
            }
            for i in range(count)
        ],
    )
    insert_rows(conversations)
    assert all(c.pk for c in conversations)
    assert set(
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).values_list(
            "status", flat=True
        )
    ) == {"open"}

    insert_values(
        Activity,
        [
            {
                "workspace_id": workspace.pk,
                "conversation_id": c.pk,
                "verb": Verb.RECEIVED,
                "data": {"kind": "comment", "n": i, "text": 'quote " and \\ and \n'},
            }
            for i, c in enumerate(conversations)
        ],
    )
    rows = list(
        Activity.objects.filter(conversation__in=conversations)
        .order_by("pk")
        .values("verb", "data", "created_at")
    )
    assert [r["verb"] for r in rows] == ["received"] * count
    assert [r["data"]["n"] for r in rows] == list(range(count))
    assert rows[0]["data"]["text"] == 'quote " and \\ and \n'
    assert all(r["created_at"] is not None for r in rows)

    for c in conversations:
        c.status = Status.CLOSED
    update_rows(Conversation, conversations, ["status"])
    assert set(
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).values_list(
            "status", flat=True
        )
    ) == {"closed"}


@pytest.mark.parametrize("count", [1, COPY_FROM_ROWS])
def test_a_duplicate_is_an_integrity_error(workspace, sim_channel, count):
    """The ingest retries a batch that raced another worker on `IntegrityError` only."""
    contact = Contact.objects.create(workspace_id=workspace.pk, display_name="Inès")
    rows = [
        {
            "workspace_id": workspace.pk,
            "channel_id": sim_channel.pk,
            "contact_id": contact.pk,
            "thread_key": f"k:{i}",
        }
        for i in range(count)
    ]
    insert_values(Conversation, rows)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_values(Conversation, rows)


def test_any_of_selects_and_updates_the_rows_named(workspace):
    pks = insert_values(
        Contact,
        [{"workspace_id": workspace.pk, "display_name": f"c{i}"} for i in range(30)],
        returning=True,
    )
    wanted = pks[::3]
    names = [f"c{i}" for i in range(0, 30, 3)]

    assert (
        sorted(Contact.objects.filter(any_of(Contact, "id", wanted)).values_list("pk", flat=True))
        == wanted
    )
    by_name = Contact.objects.filter(any_of(Contact, "display_name", [*names, "nobody", "o'hara"]))
    assert sorted(by_name.values_list("pk", flat=True)) == wanted
    assert Contact.objects.filter(any_of(Contact, "id", [])).count() == 0
    Contact.objects.filter(any_of(Contact, "id", wanted)).update(display_name="renamed")
    assert Contact.objects.filter(display_name="renamed").count() == len(wanted)


@pytest.mark.parametrize("count", [1, COPY_FROM_ROWS + 5])
def test_ignore_conflicts_skips_duplicates_whatever_the_size(workspace, sim_channel, count):
    contact = Contact.objects.create(workspace_id=workspace.pk, display_name="Noah")
    rows = [
        {
            "workspace_id": workspace.pk,
            "channel_id": sim_channel.pk,
            "contact_id": contact.pk,
            "thread_key": f"d:{i}",
        }
        for i in range(count)
    ]
    insert_values(Conversation, rows[: count // 2 + 1])
    insert_values(Conversation, rows, ignore_conflicts=True)
    assert Conversation.objects.filter(channel=sim_channel).count() == count
