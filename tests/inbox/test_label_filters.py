"""The inbox filters by what the classifiers read: sentiment, intent, and whether a reply is needed."""

from __future__ import annotations

from django.http import QueryDict

from cercle.inbox.actions import do_reply
from cercle.inbox.models import Conversation, Message
from cercle.inbox.queries import InboxFilters, conversation_page
from tests.conftest import sim_event
from tests.notifications.conftest import receive


def _conversation(channel, event_id, author, text, **labels):
    event = sim_event(
        event_id,
        text=text,
        author={"id": author, "name": author.title()},
        post={"id": f"p-{author}", "text": "Post", "url": f"https://example.com/{author}"},
    )
    conversation = receive(channel, event)
    Message.objects.filter(external_id=event_id).update(**labels)
    return conversation


def _shown(owner, query: str) -> list[str]:
    filters = InboxFilters.from_query(QueryDict(query))
    return sorted(c.preview for c in conversation_page(owner, filters).rows)


def test_sentiment_intent_and_needs_reply_narrow_the_list(owner, sim_channel):
    _conversation(
        sim_channel, "a", "ana", "Colis cassé !", sentiment="negative", intent="complaint"
    )
    _conversation(
        sim_channel, "b", "bob", "Livrez-vous à Lyon ?", sentiment="neutral", intent="question"
    )
    thanks = _conversation(
        sim_channel,
        "c",
        "cleo",
        "Merci !",
        sentiment="positive",
        intent="praise",
        needs_reply=False,
    )
    answered = _conversation(sim_channel, "d", "dan", "Où est ma commande ?", intent="question")
    do_reply(owner, answered, "Elle part demain.")
    assert _shown(owner, "sentiment=negative") == ["Colis cassé !"]
    assert _shown(owner, "intent=question") == ["Livrez-vous à Lyon ?", "Où est ma commande ?"]
    assert _shown(owner, "intent=question&needs_reply=yes") == ["Livrez-vous à Lyon ?"]
    # Waiting only on a "thanks": no reply needed; the answered conversation waits for nothing.
    assert _shown(owner, "needs_reply=no") == ["Merci !"]
    assert _shown(owner, "needs_reply=yes") == ["Colis cassé !", "Livrez-vous à Lyon ?"]
    # A new message after the thanks needs an answer again (unlabelled counts as needing one).
    receive(
        sim_channel,
        sim_event(
            "c2",
            text="Et pour la garantie ?",
            author={"id": "cleo", "name": "Cleo"},
            post={"id": "p-cleo", "text": "Post", "url": "https://example.com/cleo"},
        ),
    )
    assert Conversation.objects.get(pk=thanks.pk).waiting_since is not None
    assert "Et pour la garantie ?" in _shown(owner, "needs_reply=yes")


def test_malformed_label_filters_are_ignored_and_kept_out_of_the_url():
    filters = InboxFilters.from_query(
        QueryDict("sentiment=<script>&intent=QUESTION%00&needs_reply=maybe")
    )
    assert (filters.sentiment, filters.intent, filters.needs_reply, filters.querystring()) == (
        "",
        "",
        "",
        "",
    )
    assert InboxFilters.from_query(QueryDict("intent=question&needs_reply=yes")).querystring() == (
        "intent=question&needs_reply=yes"
    )


def test_the_filters_form_offers_them_and_keeps_the_choice(client, owner, sim_channel):
    _conversation(sim_channel, "a", "ana", "Colis cassé !", sentiment="negative")
    client.force_login(owner.user)
    page = client.get("/?sentiment=negative&needs_reply=yes").content.decode()
    assert '<option value="negative" selected>' in page and "Colis cassé !" in page
    assert '<option value="yes" selected>' in page and 'name="intent"' in page
