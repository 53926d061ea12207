"""Reply suggestions: nearest answered messages of the same workspace only, saved replies by relevance."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from cercle.inbox.actions import do_reply
from cercle.inbox.models import Message
from cercle.moderation import suggestions
from cercle.moderation.actions import do_classify_pending
from cercle.moderation.models import MessageVector
from cercle.pipeline.actions import do_create_channel
from cercle.replies.actions import do_save_saved_reply
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from tests.conftest import sim_event
from tests.inbox.test_views import receive

DIM = 384


@pytest.fixture(autouse=True)
def _fresh_indexes():
    suggestions.forget()
    yield
    suggestions.forget()


def _unit(*weights: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


def _message(channel, event_id, text, vector, author="u1"):
    receive(channel, sim_event(event_id, text=text, author={"id": author, "name": author}))
    message = Message.objects.get(channel=channel, external_id=event_id)
    MessageVector.objects.create(
        message=message,
        workspace_id=message.workspace_id,
        vector=vector.astype(np.float32).tobytes(),
        model=suggestions.embedder_version(),
    )
    return message


@pytest.fixture
def answered(owner, sim_channel):
    """Two answered messages (delivery, sizes), one unanswered, in the owner's workspace."""
    delivery = _message(sim_channel, "a1", "Où est mon colis ?", _unit(1, 0.1), author="a")
    do_reply(owner, delivery.conversation, "Votre colis part demain, voici le suivi.")
    sizes = _message(sim_channel, "a2", "Quelle taille choisir ?", _unit(0, 1), author="b")
    do_reply(owner, sizes.conversation, "Prenez votre taille habituelle.")
    _message(sim_channel, "a3", "Mon colis est perdu", _unit(1, 0.05), author="c")
    return delivery, sizes


def test_the_nearest_answered_message_comes_first_with_its_answer(owner, sim_channel, answered):
    delivery, _sizes = answered
    asked = _message(sim_channel, "q1", "Toujours pas de colis", _unit(1, 0.2), author="d")
    found = suggestions.similar_answered(asked)
    assert [f.message.pk for f in found] == [delivery.pk]  # the unanswered one is not offered
    assert found[0].answer.text == "Votre colis part demain, voici le suivi."
    assert found[0].similarity > 0.98


def test_nothing_below_the_similarity_threshold_and_not_its_own_conversation(
    owner, sim_channel, answered
):
    delivery, _sizes = answered
    far = _message(sim_channel, "q2", "Bonjour", _unit(0, 0, 1), author="e")
    assert suggestions.similar_answered(far) == []
    # The message's own conversation is never suggested to itself.
    again = _message(sim_channel, "q3", "Et mon colis ?", _unit(1, 0.1), author="a")
    assert again.conversation_id == delivery.conversation_id
    assert suggestions.similar_answered(again) == []


def test_another_workspaces_answers_are_never_suggested(owner, sim_channel, answered):
    other = do_create_workspace("Other brand")
    boss = do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    channel = do_create_channel(
        other,
        "simulator",
        "Other forum",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
        actor=boss,
    )
    secret = _message(channel, "o1", "Où est mon colis ?", _unit(1, 0.1), author="z")
    do_reply(boss, secret.conversation, "Secret answer of the others")
    asked = _message(sim_channel, "q4", "Toujours pas de colis", _unit(1, 0.1), author="d")
    texts = [f.answer.text for f in suggestions.similar_answered(asked)]
    assert "Secret answer of the others" not in texts and texts
    mine = suggestions.index_for(asked.workspace_id)
    assert secret.pk not in set(mine.message_ids.tolist())


def test_the_index_is_rebuilt_when_the_team_answers(owner, sim_channel, answered):
    _delivery, _sizes = answered
    lost = Message.objects.get(external_id="a3")
    first = suggestions.index_for(lost.workspace_id)
    assert lost.pk not in set(first.message_ids.tolist())
    do_reply(owner, lost.conversation, "Nous ouvrons une enquête transporteur.")
    # A process trusts its index for FRESH_SECONDS, then sees the new reply.
    assert lost.pk not in set(suggestions.index_for(lost.workspace_id).message_ids.tolist())
    fresh = suggestions.index_for(lost.workspace_id, fresh_seconds=0)
    assert lost.pk in set(fresh.message_ids.tolist())


def test_saved_replies_are_ranked_by_the_words_they_share():
    ranked = suggestions.rank_by_relevance(
        "Mon colis n'est pas arrivé, où en est la livraison ?",
        ["Votre colis part demain, voici le numéro de suivi."],
        [
            (1, "Merci pour votre message, à bientôt"),
            (2, "Livraison : votre colis est en route, voici le suivi"),
            (3, "Guide des tailles : prenez votre taille habituelle"),
        ],
    )
    assert [pk for pk, _ in ranked] == [2]


def test_the_drain_keeps_each_labelled_messages_vector(owner, sim_channel):
    receive(sim_channel, sim_event("v1", text="Où est ma commande ?"))
    do_classify_pending()
    stored = MessageVector.objects.get()
    vector = np.frombuffer(bytes(stored.vector), dtype=np.float32)
    assert vector.shape == (DIM,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-3
    assert stored.model == suggestions.embedder_version()


def test_the_reply_box_suggestions_in_both_languages(owner, workspace, sim_channel, answered):
    do_save_saved_reply(
        owner,
        workspace,
        title="Suivi de colis",
        versions={"fr": "Votre colis est en route, voici le suivi."},
    )
    do_save_saved_reply(owner, workspace, title="Tailles", versions={"fr": "Guide des tailles."})
    asked = _message(sim_channel, "q5", "Toujours pas de colis, le suivi ?", _unit(1, 0.2), "d")
    client = Client()
    client.login(username="lea", password="correct horse battery")
    url = reverse("moderation:reply_suggestions", args=[asked.conversation_id])
    html = client.get(url).content.decode()
    assert "Votre colis part demain, voici le suivi." in html
    assert "Suivi de colis" in html and "Tailles" not in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html_fr = client.get(url).content.decode()
    assert "Messages semblables" in html_fr


def test_another_workspaces_conversation_is_a_404(owner, sim_channel, answered):
    other = do_create_workspace("Other brand")
    do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    client = Client()
    client.login(username="zoe", password="correct horse battery")
    delivery, _ = answered
    url = reverse("moderation:reply_suggestions", args=[delivery.conversation_id])
    assert client.get(url).status_code == 404


def test_a_borrowed_answer_greets_the_person_being_answered(owner, sim_channel):
    earlier = _message(sim_channel, "g1", "Colis en retard", _unit(1, 0.1), author="Antoine Roux")
    do_reply(owner, earlier.conversation, "Bonjour Antoine, votre colis part demain. Lumen SAV")
    asked = _message(sim_channel, "g2", "Mon colis ?", _unit(1, 0.12), author="Zoé Martin")
    client = Client()
    client.login(username="lea", password="correct horse battery")
    url = reverse("moderation:reply_suggestions", args=[asked.conversation_id])
    html = client.get(url).content.decode()
    assert 'data-insert-text="Bonjour Zoé, votre colis part demain. Lumen SAV"' in html
    assert "Antoine" not in html.split("Colis en retard", 1)[1]


@pytest.mark.parametrize(
    ("answer", "earlier", "current", "expected"),
    [
        # The full name, then the first name, whole words and in any case.
        ("Hello Ana Lima, thanks!", "Ana Lima", "Bob Stone", "Hello Bob Stone, thanks!"),
        ("Merci ANA ! Ana reviendra.", "Ana Lima", "Bob Stone", "Merci Bob ! Ana reviendra."),
        ("Bonjour Anatole.", "Ana Lima", "Bob Stone", "Bonjour Anatole."),
        # A replacement is never replaced again (the new name holds the old one).
        ("Bonjour Marie,", "Marie", "Anne-Marie Roy", "Bonjour Anne-Marie Roy,"),
        # One letter, or the same person's name: unchanged.
        ("Merci J. pour tout", "J", "Kim", "Merci J. pour tout"),
        ("Merci Lumen", "lumen", "Lumen", "Merci Lumen"),
    ],
)
def test_readdress(answer, earlier, current, expected):
    from cercle.inbox.models import Contact

    assert (
        suggestions.readdress(answer, Contact(display_name=earlier), Contact(display_name=current))
        == expected
    )


def test_a_process_keeps_only_the_most_recently_used_workspaces_indexes(
    owner, sim_channel, answered, settings
):
    settings.CERCLE_SUGGESTION_INDEXES = 2
    delivery, _sizes = answered
    mine = delivery.workspace_id
    others = [do_create_workspace(f"Brand {i}").pk for i in range(2)]
    suggestions.index_for(mine)
    suggestions.index_for(others[0])
    suggestions.index_for(mine)  # used again: now the most recent
    suggestions.index_for(others[1])  # the third one pushes out the least recently used
    assert suggestions.cached_workspaces() == [mine, others[1]]
    # A dropped workspace is rebuilt from the database when it asks again, and is correct.
    assert len(suggestions.index_for(others[0]).message_ids) == 0
    assert suggestions.cached_workspaces() == [others[1], others[0]]
    rebuilt = suggestions.index_for(mine)
    assert delivery.pk in set(rebuilt.message_ids.tolist())
    assert suggestions.cached_workspaces() == [others[0], mine]
