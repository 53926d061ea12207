"""A person's hide, delete or ban cites the house rule it enforces; the contact's history shows it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.inbox.models import Outbox
from cercle.moderation.actions import do_save_house_rule
from cercle.workspaces.models import Activity
from tests.moderation.test_rules import receive

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def house(owner, workspace):
    do_save_house_rule(
        owner, workspace, number=1, text_fr="Restez courtois.", text_en="Be courteous."
    )
    do_save_house_rule(
        owner, workspace, number=2, text_fr="Pas de publicité.", text_en="No advertising."
    )


@pytest.fixture
def sam(agent) -> Client:
    client = Client()
    assert client.login(username="sam", password="correct horse battery")
    return client


def moderate(client: Client, message, action: str, **extra: str):
    return client.post(
        reverse("inbox:moderate", args=[message.pk]), {"action": action, **extra}, **HTMX
    )


def test_the_hide_button_offers_the_workspaces_house_rules(house, sam, sim_channel):
    message = receive(sim_channel, "c1", "Achetez sur promo.example")
    page = sam.get(reverse("inbox:conversation", args=[message.conversation_id])).content
    text = page.decode()
    assert f'id="house-rule-{message.pk}"' in text and "2. No advertising." in text
    assert f'hx-include="#house-rule-{message.pk}"' in text


@pytest.mark.parametrize("action", ["hide", "delete", "ban"])
def test_a_person_cites_the_house_rule_and_the_history_shows_it(house, sam, sim_channel, action):
    message = receive(sim_channel, "c1", "Achetez sur promo.example", author="u1")
    response = moderate(sam, message, action, house_rule="2")
    assert response.status_code == 200
    asked = Activity.objects.get(verb="moderation_requested")
    assert (asked.data["action"], asked.data["house_rule"]) == (action, 2)
    # Another conversation of the same contact shows the citation in its history.
    other = receive(sim_channel, "c2", "Encore moi", author="u1")
    content = sam.get(reverse("inbox:conversation", args=[other.conversation_id])).content
    history = content.decode().split("Past moderation", 1)[1].split("Other conversations", 1)[0]
    assert "house rule 2" in history


def test_without_a_house_rule_the_hide_is_refused_when_the_workspace_has_some(
    house, sam, sim_channel
):
    message = receive(sim_channel, "c1", "Achetez sur promo.example")
    for value in ("", "7", "x"):
        response = moderate(sam, message, "hide", house_rule=value)
        assert response.status_code == 422
        assert "Choose the house rule this enforces." in response.content.decode()
    assert not Outbox.objects.exists()


def test_a_workspace_without_house_rules_hides_without_citing(sam, sim_channel):
    message = receive(sim_channel, "c1", "Achetez sur promo.example")
    assert moderate(sam, message, "hide").status_code == 200
    assert "house_rule" not in Activity.objects.get(verb="moderation_requested").data


def test_an_unhide_or_a_like_cites_nothing(house, sam, sim_channel):
    message = receive(sim_channel, "c1", "Merci !")
    assert moderate(sam, message, "like").status_code == 200
    assert Activity.objects.get(verb="moderation_requested").data == {"action": "like"}


def test_the_timeline_line_cites_the_house_rule(house, sam, sim_channel):
    message = receive(sim_channel, "c1", "Achetez sur promo.example")
    content = moderate(sam, message, "hide", house_rule="1").content.decode()
    assert "Sam asked the platform: hide · house rule 1" in content
