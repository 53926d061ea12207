from __future__ import annotations

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_event
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def _receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def test_same_item_twice_gives_one_message(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("c1"))
    assert Message.objects.filter(channel=sim_channel, external_id="c1").count() == 1


def test_comments_of_one_author_under_one_post_share_a_conversation(sim_channel):
    _receive(sim_channel, sim_event("c1"), sim_event("c2", text="Toujours rien ?"))
    _receive(sim_channel, sim_event("c3", author={"id": "u2", "name": "Other"}))
    assert Conversation.objects.filter(channel=sim_channel).count() == 2
    assert Conversation.objects.get(thread_key="post:p1:author:u1").message_count == 2


def test_language_is_detected(sim_channel):
    _receive(
        sim_channel,
        sim_event("c1"),
        sim_event("c2", author={"id": "u2"}, text="My order never arrived, where is it?"),
    )
    assert Message.objects.get(external_id="c1").language == "fr"
    assert Message.objects.get(external_id="c2").language == "en"


def test_edit_updates_and_delete_tombstones_and_late_add_does_not_resurrect(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("c1", op="edit", text="Edited text"))
    assert Message.objects.get(external_id="c1").text == "Edited text"
    _receive(sim_channel, sim_event("c1", op="delete"))
    assert Message.objects.get(external_id="c1").deleted_at is not None
    _receive(sim_channel, sim_event("c9", op="delete"))
    _receive(sim_channel, sim_event("c9"))
    assert not Message.objects.filter(external_id="c9").exists()


def test_raw_event_ingest_writes_activity(sim_channel):
    do_store_raw_event(sim_channel, sim_body(sim_event("c1"), sim_event("c2")), {})
    report = do_ingest_pending()
    assert report.events == 1
    assert Activity.objects.filter(verb="received").count() == 2


def test_a_new_conversation_is_written_with_its_counters_preview_and_sla(sim_channel):
    _receive(
        sim_channel,
        sim_event("c1", text="Première question", created_at="2026-11-20T09:00:00+00:00"),
        sim_event(
            "c2", text="Deuxième   question\navec retour", created_at="2026-11-20T09:05:00+00:00"
        ),
    )
    conversation = Conversation.objects.get(thread_key="post:p1:author:u1")
    assert (conversation.message_count, conversation.preview) == (
        2,
        "Deuxième question avec retour",
    )
    assert conversation.waiting_since.isoformat() == "2026-11-20T09:00:00+00:00"
    assert conversation.last_activity_at.isoformat() == "2026-11-20T09:05:00+00:00"
    assert conversation.sla_due_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_a_follow_up_updates_the_known_conversation(sim_channel):
    _receive(sim_channel, sim_event("c1", created_at="2026-11-20T09:00:00+00:00"))
    _receive(
        sim_channel, sim_event("c2", text="Et alors ?", created_at="2026-11-20T11:00:00+00:00")
    )
    conversation = Conversation.objects.get(thread_key="post:p1:author:u1")
    assert (conversation.message_count, conversation.preview) == (2, "Et alors ?")
    assert conversation.last_activity_at.isoformat() == "2026-11-20T11:00:00+00:00"


def test_a_new_message_reopens_a_closed_conversation_and_says_so(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    Conversation.objects.update(status="closed")
    _receive(sim_channel, sim_event("c2", text="Je relance"))
    assert Conversation.objects.get().status == "open"
    change = Activity.objects.get(verb="status_changed")
    assert (change.data["old"], change.data["new"], change.message.external_id) == (
        "closed",
        "open",
        "c2",
    )


def test_a_bad_review_is_high_priority(sim_channel):
    _receive(
        sim_channel, sim_event("r1", type="review", rating=1, text="Produit cassé, service nul")
    )
    assert Conversation.objects.get().priority == 2


def test_an_edit_detects_the_language_again(sim_channel):
    _receive(sim_channel, sim_event("c1", text="Bonjour, ma commande n'est jamais arrivée"))
    _receive(sim_channel, sim_event("c1", op="edit", text="Sorry, my order never arrived at all"))
    message = Message.objects.get(external_id="c1")
    assert (message.language, message.edited_at is not None) == ("en", True)


def test_text_without_letters_gets_no_language(sim_channel):
    _receive(sim_channel, sim_event("c1", text="👍 👍"))
    assert Message.objects.get(external_id="c1").language == ""


def test_received_messages_are_saved_with_their_author_and_raw_event(sim_channel):
    do_store_raw_event(sim_channel, sim_body(sim_event("c1")), {})
    report = do_ingest_pending()
    created = report.result.created[0]
    message = Message.objects.select_related("author_identity__contact").get(pk=created.pk)
    assert message.author_identity.contact.display_name == "Camille Durand"
    assert message.raw_event_id is not None and message.raw_event_id == created.raw_event_id


def test_a_repeat_author_keeps_one_contact(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("m1", type="message", thread_id="t1", text="En privé"))
    assert Conversation.objects.values("contact").distinct().count() == 1


def test_hidden_on_the_platform_is_mirrored(sim_channel):
    _receive(sim_channel, sim_event("c1"))
    _receive(sim_channel, sim_event("c1", op="edit", hidden=True))
    assert Message.objects.get(external_id="c1").is_hidden is True


def test_every_created_message_carries_the_id_of_its_own_row(sim_channel):
    events = [
        sim_event(f"c{i}", author={"id": f"u{i % 7}"}, text=f"Message {i}") for i in range(40)
    ]
    result = _receive(sim_channel, *events)
    stored = dict(Message.objects.values_list("pk", "external_id"))
    assert [stored[m.pk] for m in result.created] == [m.external_id for m in result.created]


def test_a_post_first_seen_bare_gets_its_details_from_a_later_item(sim_channel):
    from cercle.inbox.models import Post

    _receive(sim_channel, sim_event("c1", post={"id": "p9"}))
    bare = Post.objects.get(external_id="p9")
    assert (bare.text, bare.url, bare.published_at) == ("", "", None)
    _receive(
        sim_channel,
        sim_event(
            "c2",
            post={
                "id": "p9",
                "text": "La lampe Aube <b>arrive</b>",
                "url": "https://example.com/p9",
                "published_at": "2026-11-19T17:00:00+00:00",
            },
        ),
    )
    # A later item's other text never overwrites what is known.
    _receive(sim_channel, sim_event("c3", post={"id": "p9", "text": "Autre chose"}))
    post = Post.objects.get(external_id="p9")
    assert (post.text, post.url) == ("La lampe Aube <b>arrive</b>", "https://example.com/p9")
    assert post.published_at.isoformat() == "2026-11-19T17:00:00+00:00"
