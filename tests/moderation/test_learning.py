"""Learning from the team: corrections are examples; a custom label learnt from them predicts."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from cercle.inbox.actions import ActionRefused
from cercle.inbox.models import Message
from cercle.moderation.actions import (
    do_classify_pending,
    do_correct_label,
    do_save_custom_label,
    do_set_custom_label,
    do_train_heads,
    tasks_to_train,
    workspaces_to_train,
)
from cercle.moderation.learning import split, trainable
from cercle.moderation.models import LabelExample, MessageLabel, WorkspaceHead
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_event
from tests.inbox.test_views import receive

DELIVERY = [
    "Mon colis n'est toujours pas arrivé",
    "Ma commande n'est jamais arrivée",
    "Le livreur n'est jamais passé",
    "La livraison a dix jours de retard",
    "Le transporteur a perdu mon colis",
    "Where is my parcel? It has been two weeks",
    "My order never arrived",
    "The courier lost my package",
    "Delivery is three weeks late",
    "My package shows delivered but I never got it",
    "Toujours pas de livraison, où est mon paquet ?",
    "Le suivi du colis est bloqué depuis une semaine",
    "Colis livré chez le voisin sans prévenir",
    "Le colis est arrivé écrasé et ouvert",
    "Still waiting for my delivery, tracking has not moved",
    "The parcel was left outside in the rain",
    "Wrong address on the shipping label, my box went elsewhere",
    "Livraison annulée sans explication",
    "I paid for express shipping and it is still not here",
    "Mon paquet est resté bloqué en douane",
    "Delivery driver never showed up",
    "Où en est l'expédition de ma commande ?",
    "The shipment is stuck at the depot",
    "Le relais colis n'a jamais reçu mon paquet",
    "Package missing from my doorstep",
]
OTHER = [
    "J'adore votre nouvelle lampe, elle est magnifique",
    "Superbe qualité, merci beaucoup",
    "Love the new colours of the collection",
    "Est-ce que la lampe existe en bleu ?",
    "Do you have this lamp in a bigger size?",
    "Vous recrutez des vendeurs à Lyon ?",
    "Are you hiring in Berlin?",
    "Quelle est l'ampoule conseillée pour ce modèle ?",
    "What wattage does the bulb need?",
    "Bravo pour le design, très réussi",
    "Great customer service in your Paris shop",
    "Le magasin de Nantes ouvre-t-il le dimanche ?",
    "Is the shop open on Sunday?",
    "Votre lampe de bureau est parfaite pour lire",
    "Beautiful photo of the living room",
    "Can I use this lamp outdoors?",
    "Peut-on changer la couleur de l'abat-jour ?",
    "J'aimerais un code promo pour Noël",
    "Do you offer gift wrapping?",
    "Très belle vitrine ce mois-ci",
    "The dimmer works perfectly, thank you",
    "Combien de temps dure la garantie ?",
    "How long is the warranty?",
    "Merci pour le concours, j'ai gagné !",
    "Your new catalogue is inspiring",
]


def messages_of(channel, texts, prefix):
    receive(
        channel,
        *[
            sim_event(f"{prefix}{i}", text=t, author={"id": f"{prefix}u{i}", "name": f"Fan {i}"})
            for i, t in enumerate(texts)
        ],
    )
    return [
        Message.objects.get(channel=channel, external_id=f"{prefix}{i}") for i in range(len(texts))
    ]


def test_the_split_is_stratified_and_reproducible():
    labels = ["yes"] * 20 + ["no"] * 20
    train, test = split(labels)
    assert (len(test), sorted(labels[i] for i in test).count("yes")) == (10, 5)
    assert split(labels) == (train, test) and not set(train) & set(test)
    assert not trainable(["yes"] * 29 + ["no"]) and trainable(["yes"] * 25 + ["no"] * 5)


def test_a_custom_label_learnt_from_40_corrections_predicts_held_out_messages(owner, sim_channel):
    label = do_save_custom_label(owner, owner.workspace_id, "Delivery problem")
    delivery = messages_of(sim_channel, DELIVERY[:20], "d")
    other = messages_of(sim_channel, OTHER[:20], "o")
    for message in delivery:
        do_set_custom_label(owner, message, label, applies=True)
    for message in other:
        do_set_custom_label(owner, message, label, applies=False)
    assert LabelExample.objects.filter(task=label.task).count() == 40

    assert workspaces_to_train() == [owner.workspace_id]
    (head,) = do_train_heads(owner.workspace_id)
    assert workspaces_to_train() == []
    assert (head.task, head.examples, head.held_out) == (label.task, 40, 10)
    assert head.active and head.accuracy > head.baseline_accuracy == 0.5
    assert set(head.scores) == {"yes", "no"} and head.scores["yes"]["recall"] >= 0.8
    assert Activity.objects.filter(verb="model_trained").count() == 1
    # Nothing new to learn from: no training again.
    assert tasks_to_train(owner.workspace_id) == []

    # New messages the team never labelled: the drain predicts the label for them.
    held_out = messages_of(sim_channel, DELIVERY[20:] + OTHER[20:], "h")
    while do_classify_pending():
        pass
    predicted = dict(
        MessageLabel.objects.filter(message__in=held_out, label=label).values_list(
            "message__text", "applies"
        )
    )
    right = sum(predicted[t] == (t in DELIVERY) for t in predicted)
    assert (len(predicted), right >= 9) == (10, True), predicted


def test_a_correction_shows_at_once_and_becomes_an_example(owner, sim_channel):
    (message,) = messages_of(sim_channel, ["Où est ma commande ?"], "c")
    do_correct_label(owner, message, "intent", "complaint")
    do_correct_label(owner, message, "needs_reply", "no")
    message.refresh_from_db()
    assert (message.intent, message.intent_score, message.needs_reply) == ("complaint", None, False)
    assert sorted(LabelExample.objects.values_list("task", "label")) == [
        ("intent", "complaint"),
        ("needs_reply", "no"),
    ]
    # The latest correction of a task wins.
    do_correct_label(owner, message, "intent", "question")
    assert LabelExample.objects.get(task="intent").label == "question"
    assert Activity.objects.filter(verb="label_corrected").count() == 3
    assert tasks_to_train(owner.workspace_id) == ["intent", "needs_reply"]


def test_corrections_are_refused_to_viewers_other_workspaces_and_unknown_labels(
    workspace, owner, sim_channel
):
    (message,) = messages_of(sim_channel, ["Bonjour"], "c")
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    with pytest.raises(PermissionDenied):
        do_correct_label(viewer, message, "sentiment", "negative")
    other = do_create_workspace("Autre")
    stranger = do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    with pytest.raises(PermissionDenied):
        do_correct_label(stranger, message, "sentiment", "negative")
    with pytest.raises(ActionRefused):
        do_correct_label(owner, message, "sentiment", "furious")
    foreign = do_save_custom_label(stranger, other.pk, "Leur label")
    with pytest.raises(ActionRefused):
        do_set_custom_label(owner, message, foreign, applies=True)
    with pytest.raises(ValidationError):
        do_save_custom_label(owner, workspace.pk, "   ")
    assert LabelExample.objects.count() == 0


def test_too_few_examples_train_nothing(owner, sim_channel):
    label = do_save_custom_label(owner, owner.workspace_id, "Job application")
    for message in messages_of(sim_channel, OTHER[:10], "o"):
        do_set_custom_label(owner, message, label, applies=message.text.startswith("Are"))
    assert do_train_heads(owner.workspace_id) == [] and not WorkspaceHead.objects.exists()
    assert workspaces_to_train() == []


def test_the_learning_page_and_the_correction_form(owner, sim_channel):
    (message,) = messages_of(sim_channel, ["Colis perdu <b>encore</b>"], "c")
    client = Client()
    assert client.login(username="lea", password="correct horse battery")
    response = client.post(
        reverse("moderation:learning"), {"name": "Delivery <script>x</script>"}, follow=True
    )
    page = response.content.decode()
    assert "Delivery &lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    response = client.post(
        reverse("moderation:correct", args=[message.pk]), {"task": "sentiment", "label": "negative"}
    )
    assert response.status_code in (200, 302)
    message.refresh_from_db()
    assert message.sentiment == "negative"
    other = do_create_workspace("Autre")
    do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    stranger = Client()
    assert stranger.login(username="zoe", password="correct horse battery")
    response = stranger.post(
        reverse("moderation:correct", args=[message.pk]), {"task": "sentiment", "label": "positive"}
    )
    assert response.status_code == 404


def _inbound(channel, event_id, text):
    receive(channel, sim_event(event_id, text=text, author={"id": "u1", "name": "Person"}))
    return Message.objects.get(channel=channel, external_id=event_id)


def _moderate(member, message, kind):
    import httpx

    from cercle.connectors.base import ActionKind
    from cercle.connectors.http import transport
    from cercle.inbox.actions import do_moderate_message
    from cercle.pipeline.sender import send_due
    from tests.pipeline.test_outbox import FakeSimulatorPlatform

    do_moderate_message(member, message, ActionKind(kind))
    with transport(httpx.MockTransport(FakeSimulatorPlatform())):
        send_due()
    message.refresh_from_db()


def _hide_examples():
    return list(LabelExample.objects.filter(task="hide").values_list("message_id", "label"))


def test_a_persons_hide_is_an_example_and_their_unhide_takes_it_back(owner, sim_channel):
    message = _inbound(sim_channel, "h1", "Bande de nuls, remboursez-moi")
    _moderate(owner, message, "hide")
    assert message.is_hidden
    example = LabelExample.objects.get(task="hide")
    assert (example.message_id, example.label, example.member_id) == (message.pk, "yes", owner.pk)
    _moderate(owner, message, "unhide")
    assert not message.is_hidden
    assert _hide_examples() == []


def test_unhiding_what_a_rule_hid_teaches_should_not_hide_and_rule_hides_teach_nothing(
    owner, workspace, sim_channel
):
    from cercle.moderation.actions import do_save_rule
    from cercle.moderation.choices import RuleMode

    do_save_rule(
        owner,
        workspace,
        name="Hide links",
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "hide"}],
        mode=RuleMode.LIVE,
    )
    message = _inbound(sim_channel, "h2", "Mon avis sur promo.example : très bien")
    import httpx

    from cercle.connectors.http import transport
    from cercle.pipeline.sender import send_due
    from tests.pipeline.test_outbox import FakeSimulatorPlatform

    with transport(httpx.MockTransport(FakeSimulatorPlatform())):
        send_due()
    message.refresh_from_db()
    assert message.is_hidden and _hide_examples() == []
    _moderate(owner, message, "unhide")
    assert _hide_examples() == [(message.pk, "no")]


def test_a_should_hide_head_is_trained_from_hides(owner, sim_channel):
    toxic = [f"Vous êtes des escrocs, arnaque numéro {i}" for i in range(16)]
    fine = [f"Merci pour la livraison rapide numéro {i}" for i in range(16)]
    for i, text in enumerate(toxic + fine):
        message = _inbound(sim_channel, f"t{i}", text)
        LabelExample.objects.create(
            workspace_id=message.workspace_id,
            message=message,
            task="hide",
            label="yes" if i < len(toxic) else "no",
            member=owner,
        )
    (head,) = do_train_heads(sim_channel.workspace_id)
    assert head.task == "hide" and head.accuracy >= 0.9
    assert set(head.scores) == {"yes", "no"}


def test_an_active_should_hide_head_queues_what_it_flags_and_never_hides_it(owner, sim_channel):
    from cercle.inbox.models import Outbox
    from cercle.moderation.actions import do_decide_suggestion
    from cercle.moderation.models import Suggestion

    toxic = [f"Vous êtes des escrocs, arnaque numéro {i}" for i in range(16)]
    fine = [f"Merci pour la livraison rapide numéro {i}" for i in range(16)]
    for i, text in enumerate(toxic + fine):
        message = _inbound(sim_channel, f"t{i}", text)
        LabelExample.objects.create(
            workspace_id=message.workspace_id,
            message=message,
            task="hide",
            label="yes" if i < len(toxic) else "no",
            member=owner,
        )
    while do_classify_pending():
        pass
    Suggestion.objects.all().delete()  # the examples themselves are not what this test is about
    (head,) = do_train_heads(sim_channel.workspace_id)
    assert head.active  # it measured better than "always no" on its held-out split

    bad = _inbound(sim_channel, "n1", "Vous êtes des escrocs, une vraie arnaque")
    good = _inbound(sim_channel, "n2", "Merci pour la livraison rapide, parfait")
    while do_classify_pending():
        pass
    (suggestion,) = Suggestion.objects.all()
    assert (suggestion.message_id, suggestion.rule_id, suggestion.state) == (
        bad.pk,
        None,
        "pending",
    )
    assert suggestion.score is not None and suggestion.score >= 0.5
    bad.refresh_from_db()
    assert not bad.is_hidden and not Outbox.objects.filter(message=bad).exists()
    assert Activity.objects.get(verb="classified", message=bad).data["suggested"] == "hide"
    assert "suggested" not in Activity.objects.get(verb="classified", message=good).data

    # The queue shows it; a person accepts: the hide goes to the platform in their name.
    client = Client()
    client.force_login(owner.user)
    page = client.get(reverse("moderation:queue")).content.decode()
    assert "Vous êtes des escrocs, une vraie arnaque" in page
    assert do_decide_suggestion(owner, suggestion, accept=True) == ["hide"]
    outbox = Outbox.objects.get(message=bad)
    assert outbox.action == "hide"
    requested = Activity.objects.get(verb="moderation_requested", message=bad)
    assert requested.actor_id == owner.pk

    # Dismissed, a suggestion is a "should hide: no" example.
    other = _inbound(sim_channel, "n3", "Bande d'escrocs, arnaque totale")
    while do_classify_pending():
        pass
    second = Suggestion.objects.get(message=other)
    assert do_decide_suggestion(owner, second, accept=False) == []
    assert LabelExample.objects.get(message=other, task="hide").label == "no"
    assert not Outbox.objects.filter(message=other).exists()

    # A head that does not measure better than the default suggests nothing.
    WorkspaceHead.objects.filter(pk=head.pk).update(active=False)
    _inbound(sim_channel, "n4", "Vous êtes des escrocs, arnaque encore")
    while do_classify_pending():
        pass
    assert Suggestion.objects.count() == 2


@pytest.mark.parametrize("shipped_is", ["right", "wrong"])
def test_a_sentiment_head_takes_over_only_when_it_measures_better_than_the_shipped_model(
    owner, sim_channel, monkeypatch, shipped_is
):
    from cercle.moderation import learning
    from cercle.moderation.actions import do_correct_label, do_train_heads

    negative = messages_of(sim_channel, DELIVERY[:20], "n")
    positive = messages_of(sim_channel, OTHER[:20], "p")
    for message in negative:
        do_correct_label(owner, message, "sentiment", "negative")
    for message in positive:
        do_correct_label(owner, message, "sentiment", "positive")
    team = {m.text: "negative" for m in negative} | {m.text: "positive" for m in positive}
    flip = {"negative": "positive", "positive": "negative"}
    seen: list[list[str]] = []

    def shipped(task, texts, vectors):  # type: ignore[no-untyped-def]
        # The shipped model as a stand-in that always agrees, or never agrees, with the team.
        seen.append(list(texts))
        return [team[t] if shipped_is == "right" else flip[team[t]] for t in texts]

    monkeypatch.setattr(learning, "shipped_predictions", shipped)
    (head,) = [h for h in do_train_heads(owner.workspace_id) if h.task == "sentiment"]
    assert (head.baseline, head.held_out, len(seen[0])) == ("shipped model", 10, 10)
    if shipped_is == "right":
        # Nothing beats a model that is always right on the held-out split: the head stays off.
        assert (head.baseline_accuracy, head.active) == (1.0, False)
    else:
        assert (head.baseline_accuracy, head.active) == (0.0, head.accuracy > 0.0)
        assert head.active
