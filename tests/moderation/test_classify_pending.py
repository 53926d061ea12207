"""The worker's drain labels stored messages in batches, and the labels drive priority."""

from __future__ import annotations

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.choices import Priority
from cercle.inbox.models import Conversation, Message
from cercle.inbox.queries import InboxFilters, conversation_page
from cercle.moderation.actions import do_classify_pending
from cercle.moderation.classify import Labels
from cercle.moderation.priority import suggested_priority
from cercle.moderation.tasks import classify_pending
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event


def _receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def _comment(event_id, author, text):
    return sim_event(event_id, author={"id": author, "name": author.title()}, text=text)


def test_receiving_stores_the_language_at_once_and_leaves_the_rest_to_the_worker(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Où est ma commande ?"))
    message = Message.objects.get(external_id="c1")
    assert (message.language, message.intent, message.classified_at) == ("fr", "", None)


def test_the_drain_fills_every_label_in_batches(sim_channel):
    _receive(
        sim_channel,
        *[
            _comment(f"c{i}", f"user{i}", f"Merci pour la livraison rapide n°{i} !")
            for i in range(5)
        ],
    )
    labelled = [do_classify_pending(limit=2) for _ in range(4)]
    message = Message.objects.get(external_id="c0")
    assert (labelled, message.sentiment, message.intent, message.needs_reply) == (
        [2, 2, 1, 0],
        "positive",
        "praise",
        False,
    )


def test_the_task_labels_what_is_missing_and_logs_who_did_it(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Is the blue lamp still in stock?"))
    classify_pending.call()
    activity = Activity.objects.get(verb="classified")
    assert (activity.data["intent"], activity.automation_name) == ("question", "Classifiers")


def test_an_edit_is_labelled_again(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Super produit, merci !"))
    do_classify_pending()
    _receive(
        sim_channel, sim_event("c1", op="edit", text="Produit cassé, je veux un remboursement.")
    )
    do_classify_pending()
    assert Message.objects.get(external_id="c1").sentiment == "negative"


def test_a_toxic_complaint_outranks_praise_in_the_default_sort(sim_channel, owner):
    _receive(
        sim_channel,
        _comment("praise", "ana", "Merci, votre équipe est formidable !"),
        _comment("toxic", "bob", "Ferme ta boutique, vous êtes nuls."),
    )
    do_classify_pending()
    page = conversation_page(owner, InboxFilters())
    previews = [conversation.preview for conversation in page.rows]
    assert previews == [
        "Ferme ta boutique, vous êtes nuls.",
        "Merci, votre équipe est formidable !",
    ]


def test_whoever_waits_goes_before_an_answered_conversation_whatever_its_priority(
    sim_channel, owner
):
    _receive(
        sim_channel,
        _comment("toxic", "bob", "Ferme ta boutique, vous êtes nuls."),
        _comment("question", "ana", "Vous livrez en Belgique ?"),
    )
    do_classify_pending()
    toxic = Conversation.objects.get(preview__startswith="Ferme")
    do_reply(owner, toxic, "Nous sommes désolés, pouvez-vous nous dire ce qui s'est passé ?")
    page = conversation_page(owner, InboxFilters())
    # The answered one keeps its higher priority, but nobody waits there any more.
    question, answered = page.rows
    assert (answered.priority > question.priority, [question.preview, answered.preview]) == (
        True,
        ["Vous livrez en Belgique ?", "Ferme ta boutique, vous êtes nuls."],
    )


def test_praise_after_a_question_does_not_bury_the_question(sim_channel):
    _receive(sim_channel, _comment("q", "ana", "Vous livrez en Belgique ?"))
    do_classify_pending()
    _receive(sim_channel, _comment("t", "ana", "Merci d'avance, j'adore vos lampes !"))
    do_classify_pending()
    assert Conversation.objects.get().priority == Priority.NORMAL


def test_a_priority_raised_by_someone_is_not_lowered_by_a_model(sim_channel):
    _receive(sim_channel, _comment("c1", "ana", "Bravo pour la nouvelle collection !"))
    Conversation.objects.update(priority=Priority.HIGH)
    do_classify_pending()
    assert Conversation.objects.get().priority == Priority.HIGH


def test_the_priority_ladder():
    ladder = [
        Labels(intent="other", toxicity_category="threat"),
        Labels(intent="complaint", sentiment="negative", toxicity_category="insult"),
        Labels(intent="complaint", sentiment="negative", needs_reply=True),
        Labels(intent="complaint", sentiment="neutral", needs_reply=True),
        # A mild complaint in a happy message ("great charger, the manual could be clearer").
        Labels(intent="complaint", sentiment="positive", needs_reply=True),
        Labels(intent="question", sentiment="neutral", needs_reply=True),
        Labels(intent="praise", sentiment="positive", needs_reply=False),
    ]
    assert [suggested_priority(labels) for labels in ladder] == [
        Priority.URGENT,
        Priority.URGENT,
        Priority.HIGH,
        Priority.HIGH,
        Priority.NORMAL,
        Priority.NORMAL,
        Priority.LOW,
    ]


def test_the_conversation_shows_the_labels_once_the_worker_has_spoken(client, sim_channel, owner):
    from django.urls import reverse

    _receive(sim_channel, _comment("c1", "ana", "Ferme ta boutique, vous êtes nuls."))
    assert client.login(username="lea", password="correct horse battery")
    url = reverse("inbox:conversation", args=[Conversation.objects.get().pk])
    before = client.get(url).content.decode()
    do_classify_pending()
    after = client.get(url).content.decode()
    assert ('data-label="toxicity:insult"' in before, 'data-label="toxicity:insult"' in after) == (
        False,
        True,
    )


def test_the_scheduler_starts_one_classify_drain_at_a_time(sim_channel, monkeypatch):
    import time

    from django_tasks_db.models import DBTaskResult

    from cercle.pipeline import worker
    from cercle.pipeline.worker import schedule_once

    # The test's connection is the test's transaction: the worker must not close it.
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)

    schedule_once(time.monotonic())
    queued_when_idle = DBTaskResult.objects.filter(queue_name="classify").count()
    _receive(sim_channel, _comment("c1", "ana", "Vous livrez en Belgique ?"))
    schedule_once(time.monotonic())
    schedule_once(time.monotonic())
    assert (queued_when_idle, DBTaskResult.objects.filter(queue_name="classify").count()) == (0, 1)


def test_a_rule_on_intent_fires_once_the_worker_has_labelled_the_message(sim_channel, owner):
    from cercle.moderation.actions import do_save_rule
    from cercle.moderation.choices import RuleMode

    do_save_rule(
        owner,
        sim_channel.workspace,
        name="Complaints to the care team",
        conditions=[{"field": "intent", "value": ["complaint"]}],
        actions=[{"type": "tag", "value": "care"}],
        mode=RuleMode.LIVE,
    )
    _receive(sim_channel, _comment("c1", "ana", "Colis cassé et toujours pas remboursé !"))
    tagged_at_once = Conversation.objects.get().tags.filter(name="care").exists()
    do_classify_pending()
    tagged_later = Conversation.objects.get().tags.filter(name="care").exists()
    assert (tagged_at_once, tagged_later) == (False, True)
