"""Collision detection: a reply written without seeing another reply, an assignment or a status
change is stopped; the member may send anyway, once; nothing is sent twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import (
    do_add_note,
    do_assign_conversation,
    do_change_status,
    do_receive,
    do_reply,
)
from cercle.inbox.choices import Status
from cercle.inbox.collision import (
    AlreadySent,
    Collision,
    Seen,
    latest_activity_id,
    new_send_key,
)
from cercle.inbox.models import Conversation, Draft, Outbox
from cercle.workspaces.actors import system
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Member
from tests.conftest import sim_body, sim_event


def receive(channel, *events):
    return do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def conversation(sim_channel) -> Conversation:
    receive(sim_channel, sim_event("c1", text="Où est ma commande ?"))
    return Conversation.objects.get(channel=sim_channel)


def seen_now(conversation: Conversation) -> Seen:
    """What a reply box drawn now carries."""
    return Seen(latest_activity_id(conversation.pk), new_send_key())


# --- the check -----------------------------------------------------------------------


def test_another_members_reply_since_seen_stops_the_reply(owner, agent, conversation):
    seen = seen_now(conversation)
    do_reply(owner, conversation, "Nous regardons, Léa")
    with pytest.raises(Collision) as stopped:
        do_reply(agent, conversation, "Nous regardons, Sam", seen=seen)
    change = stopped.value.changes[0]
    assert (change.verb, change.who, change.excerpt) == (
        "replied",
        "Léa Martin",
        "Nous regardons, Léa",
    )
    assert Outbox.objects.filter(conversation=conversation).count() == 1


def test_an_assignment_since_seen_stops_the_reply(owner, agent, conversation):
    seen = seen_now(conversation)
    do_assign_conversation(owner, conversation, owner)
    with pytest.raises(Collision) as stopped:
        do_reply(agent, conversation, "Bonjour", seen=seen)
    assert [(c.verb, c.data["assignee"]) for c in stopped.value.changes] == [
        ("assigned", "Léa Martin")
    ]


def test_a_status_change_by_an_automation_since_seen_stops_the_reply(agent, conversation):
    seen = seen_now(conversation)
    do_change_status(system(conversation.workspace_id, "Nightly"), conversation, Status.PENDING)
    with pytest.raises(Collision) as stopped:
        do_reply(agent, conversation, "Bonjour", seen=seen)
    assert [(c.verb, c.who) for c in stopped.value.changes] == [("status_changed", "Nightly")]


def test_notes_tags_and_the_members_own_actions_do_not_stop_the_reply(owner, agent, conversation):
    seen = seen_now(conversation)
    do_add_note(owner, conversation, "Client fidèle")  # someone else's note
    do_add_note(agent, conversation, "Je m'en occupe")  # my own note
    do_assign_conversation(agent, conversation, agent)  # my own assignment
    do_reply(agent, conversation, "Première réponse")  # my own earlier reply (another tab)
    do_reply(agent, conversation, "Seconde réponse", seen=seen)
    assert Outbox.objects.filter(conversation=conversation).count() == 2


def test_a_reply_without_a_mark_is_not_checked(owner, agent, conversation):
    """Automations and the API send without a reply box: nothing to compare with."""
    do_reply(owner, conversation, "Réponse de Léa")
    do_reply(agent, conversation, "Réponse de Sam")
    assert Outbox.objects.filter(conversation=conversation).count() == 2


def test_send_anyway_sends_once_and_only_once(owner, agent, conversation):
    seen = seen_now(conversation)
    do_reply(owner, conversation, "Réponse de Léa")
    with pytest.raises(Collision) as stopped:
        do_reply(agent, conversation, "Réponse de Sam", seen=seen)
    # The box drawn with the warning carries the newer mark (and the same submission key).
    anyway = Seen(stopped.value.latest_id, seen.send_key)
    do_reply(agent, conversation, "Réponse de Sam", seen=anyway)
    with pytest.raises(AlreadySent):
        do_reply(agent, conversation, "Réponse de Sam", seen=anyway)
    texts = Outbox.objects.filter(conversation=conversation).values_list("payload__text", flat=True)
    assert sorted(texts) == ["Réponse de Léa", "Réponse de Sam"]
    assert Outbox.objects.get(idempotency_key=seen.send_key).message.author_member == agent


def test_a_note_submitted_twice_is_added_once(agent, conversation):
    key = new_send_key()
    do_add_note(agent, conversation, "Une fois", send_key=key)
    with pytest.raises(AlreadySent):
        do_add_note(agent, conversation, "Une fois", send_key=key)
    assert conversation.messages.filter(direction="note").count() == 1


def test_a_send_key_of_another_conversation_does_not_block_nor_collide(agent, sim_channel):
    receive(sim_channel, sim_event("a1", author={"id": "u1", "name": "A"}))
    receive(sim_channel, sim_event("b1", author={"id": "u2", "name": "B"}, post={"id": "p2"}))
    first, second = Conversation.objects.order_by("pk")
    key = new_send_key()
    do_reply(agent, first, "Un", seen=Seen(latest_activity_id(first.pk), key))
    do_reply(agent, second, "Deux", seen=Seen(latest_activity_id(second.pk), key))
    assert Outbox.objects.count() == 2


def test_a_mark_from_the_form_is_validated():
    assert Seen.from_form({"seen": "12", "send_key": "a" * 32}) == Seen(12, "a" * 32)
    assert Seen.from_form({"seen": "12", "send_key": "<x>"}) == Seen(12, "")
    assert Seen.from_form({"seen": "-4"}) == Seen(0, "")
    assert Seen.from_form({"send_key": "a" * 32}) is None


def test_send_and_close_replies_then_closes_both_logged(agent, conversation):
    do_reply(
        agent, conversation, "Voilà, c'est réglé", seen=seen_now(conversation), then_close=True
    )
    conversation.refresh_from_db()
    verbs = list(Activity.objects.filter(conversation=conversation).values_list("verb", flat=True))
    assert conversation.status == Status.CLOSED
    assert verbs[-2:] == [Verb.REPLIED, Verb.STATUS_CHANGED]


def test_send_and_close_stopped_by_a_collision_neither_sends_nor_closes(owner, agent, conversation):
    seen = seen_now(conversation)
    do_assign_conversation(owner, conversation, owner)
    with pytest.raises(Collision):
        do_reply(agent, conversation, "Voilà", seen=seen, then_close=True)
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and not Outbox.objects.exists()


# --- two members at the same time ------------------------------------------------------


def _in_parallel(*jobs: Callable[[], Any]) -> list[Any]:
    """Run `jobs` at once, each in its own thread with its own database connection."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as exc:  # the outcome is what the test checks
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_replies_cannot_both_pass(owner, agent, conversation):
    seen_by_lea = seen_now(conversation)
    seen_by_sam = seen_now(conversation)

    def send(member: Member, text: str, seen: Seen) -> Callable[[], Any]:
        return lambda: do_reply(Member.objects.get(pk=member.pk), conversation, text, seen=seen)

    results = _in_parallel(
        send(owner, "Réponse de Léa", seen_by_lea), send(agent, "Réponse de Sam", seen_by_sam)
    )
    stopped = [r for r in results if isinstance(r, Collision)]
    assert len(stopped) == 1, results
    assert Outbox.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_is_sent_once(agent, conversation):
    seen = seen_now(conversation)
    results = _in_parallel(
        lambda: do_reply(agent, conversation, "Une seule fois", seen=seen),
        lambda: do_reply(agent, conversation, "Une seule fois", seen=seen),
    )
    assert sum(isinstance(r, AlreadySent) for r in results) == 1, results
    assert Outbox.objects.filter(conversation=conversation).count() == 1


# --- through the reply box -------------------------------------------------------------


def _login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="correct horse battery")
    return client


def _box(response) -> dict[str, str]:
    """The hidden fields of the reply box in a rendered pane."""
    import re

    html = response.content.decode()
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("seen", "send_key")
    }


HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "conversation"}


def test_the_reply_box_stops_shows_what_changed_and_sends_anyway(owner, agent, conversation):
    sam = _login("sam")
    url = reverse("inbox:conversation", args=[conversation.pk])
    box = _box(sam.get(url, **HTMX))
    do_reply(owner, conversation, "Léa a déjà répondu")
    send = reverse("inbox:send", args=[conversation.pk])
    stopped = sam.post(send, {"mode": "reply", "text": "Sam répond aussi", **box}, **HTMX)
    html = stopped.content.decode()
    assert stopped.status_code == 409
    assert "Not sent: this conversation changed since you opened it." in html
    assert "Léa Martin replied" in html and "Léa a déjà répondu" in html
    assert ">Sam répond aussi</textarea>" in html and 'id="btn-send-anyway"' in html
    # The text is kept as Sam's draft on the server, too.
    assert Draft.objects.get(member=agent, conversation=conversation).text == "Sam répond aussi"
    anyway = sam.post(send, {"mode": "reply", "text": "Sam répond aussi", **_box(stopped)}, **HTMX)
    assert anyway.status_code == 200
    assert Outbox.objects.filter(conversation=conversation).count() == 2
    assert not Draft.objects.filter(member=agent).exists()


def test_without_htmx_a_stopped_reply_comes_back_with_its_text(owner, agent, conversation):
    sam = _login("sam")
    url = reverse("inbox:conversation", args=[conversation.pk])
    box = _box(sam.get(url))
    do_change_status(owner, conversation, Status.PENDING)
    response = sam.post(
        reverse("inbox:send", args=[conversation.pk]), {"mode": "reply", "text": "Bonjour", **box}
    )
    assert response.status_code == 302
    page = sam.get(response["Location"]).content.decode()
    assert "Not sent: the conversation changed since you opened it." in page
    assert ">Bonjour</textarea>" in page and not Outbox.objects.exists()


def test_a_double_submission_of_the_box_sends_once(agent, conversation):
    sam = _login("sam")
    box = _box(sam.get(reverse("inbox:conversation", args=[conversation.pk]), **HTMX))
    send = reverse("inbox:send", args=[conversation.pk])
    for _ in range(2):
        response = sam.post(send, {"mode": "reply", "text": "Une fois", **box}, **HTMX)
        assert response.status_code == 200
    assert Outbox.objects.count() == 1


def test_send_and_close_from_the_box(agent, conversation):
    sam = _login("sam")
    box = _box(sam.get(reverse("inbox:conversation", args=[conversation.pk]), **HTMX))
    sam.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Réglé", "then": "close", **box},
        **HTMX,
    )
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED and Outbox.objects.count() == 1


def test_the_stopped_time_is_shown(owner, agent, conversation):
    """The change says when it happened (a time element with the full date on hover)."""
    sam = _login("sam")
    box = _box(sam.get(reverse("inbox:conversation", args=[conversation.pk]), **HTMX))
    with clock.at(clock.now() - timedelta(minutes=3)):
        do_assign_conversation(owner, conversation, owner)
    html = sam.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Bonjour", **box},
        **HTMX,
    ).content.decode()
    assert "Léa Martin assigned it to Léa Martin" in html and "3\xa0minutes ago" in html


def test_a_stopped_send_and_close_offers_to_send_anyway_and_close(owner, agent, conversation):
    sam = _login("sam")
    box = _box(sam.get(reverse("inbox:conversation", args=[conversation.pk]), **HTMX))
    do_reply(owner, conversation, "Déjà répondu")
    html = sam.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "Réglé", "then": "close", **box},
        **HTMX,
    ).content.decode()
    assert 'id="btn-send-anyway" name="then" value="close">Send anyway and close<' in html
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
