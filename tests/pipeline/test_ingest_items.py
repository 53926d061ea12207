"""One bad item loses only itself: the other items of its delivery are stored, the bad one is reported."""

from __future__ import annotations

import json

from cercle.inbox.models import Contact, Message
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_event
from cercle.pipeline.choices import RawEventStatus
from cercle.pipeline.models import RawEvent
from tests.conftest import sim_event


def _ascii_body(*events) -> bytes:
    """A delivery as platforms send it: JSON with \\u escapes (a lone surrogate survives that way)."""
    return json.dumps({"events": list(events)}).encode()


def test_a_lone_surrogate_in_one_comment_loses_no_item_of_its_delivery(sim_channel):
    do_store_raw_event(
        sim_channel,
        _ascii_body(
            sim_event("c1", text="Bonjour \ud800 !"),
            sim_event("c2", author={"id": "u2", "name": "Nom \udfff"}, text="Et moi ?"),
        ),
        {},
    )
    do_ingest_pending()
    stored = dict(Message.objects.values_list("external_id", "text"))
    assert stored == {"c1": "Bonjour \ufffd !", "c2": "Et moi ?"}
    assert Contact.objects.filter(display_name="Nom \ufffd").exists()


def test_nul_characters_are_removed_from_every_platform_string(sim_channel):
    do_store_raw_event(
        sim_channel,
        _ascii_body(sim_event("c1", text="A\x00B", author={"id": "u1", "name": "Ca\x00mille"})),
        {},
    )
    do_ingest_pending()
    message = Message.objects.select_related("author_identity").get()
    assert (message.text, message.author_identity.display_name) == ("AB", "Camille")


def test_clean_text_keeps_valid_text_as_it_is():
    from cercle.inbox.receive import clean_text

    text = "Déjà vu 👍"
    assert clean_text(text) is text


def test_an_item_a_stage_chokes_on_is_left_out_and_the_event_says_which(sim_channel, monkeypatch):
    from cercle.inbox import stages

    def rules(messages):
        if any(m.text == "BOOM" for m in messages):
            raise RuntimeError("a rule crashed")

    monkeypatch.setattr(stages, "_rules", [rules])
    do_store_raw_event(
        sim_channel,
        _ascii_body(
            sim_event("c1"),
            sim_event("c2", author={"id": "u2"}, text="BOOM"),
            sim_event("c3", author={"id": "u3"}),
        ),
        {},
    )
    report = do_ingest_pending()
    event = RawEvent.objects.get()
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["c1", "c3"]
    assert (report.partial, event.status, [e["external_id"] for e in event.item_errors]) == (
        1,
        RawEventStatus.PARTIAL,
        ["c2"],
    )
    assert "a rule crashed" in event.item_errors[0]["error"]


def test_the_channel_page_counts_the_deliveries_not_fully_stored(client, owner, sim_channel):
    from django.urls import reverse

    RawEvent.objects.create(
        workspace_id=sim_channel.workspace_id,
        channel=sim_channel,
        body=b"{}",
        status=RawEventStatus.PARTIAL,
        item_errors=[{"external_id": "c2", "error": "RuntimeError: boom"}],
    )
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("pipeline:list")).content.decode()
    assert "1 delivery not fully stored" in page
