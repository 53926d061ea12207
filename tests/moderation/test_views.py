"""Moderation pages: writing a rule from the form, its dry run, the queue, house rules, scoping."""

import pytest
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Outbox
from cercle.moderation.actions import do_save_house_rule, do_save_rule
from cercle.moderation.models import Rule, Suggestion
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from tests.conftest import sim_body, sim_event

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def receive(channel, event_id, text):
    event = sim_event(event_id, text=text)
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))


def test_a_manager_writes_a_rule_from_the_form(lea, workspace):
    response = lea.post(
        reverse("moderation:rule_new"),
        {
            "name": "Liens promo",
            "mode": "suggest",
            "position": 0,
            "condition_0": "text_contains",
            "condition_value_0": "promo.example, bit.ly",
            "action_0": "hide",
        },
    )
    rule = Rule.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert rule.conditions == [{"field": "text_contains", "value": ["promo.example", "bit.ly"]}]


def test_a_bad_regular_expression_is_explained(lea, workspace):
    response = lea.post(
        reverse("moderation:rule_new"),
        {
            "name": "Bad",
            "mode": "off",
            "position": 0,
            "condition_0": "text_matches",
            "condition_value_0": "(oops",
            "action_0": "tag",
            "action_value_0": "x",
        },
    )
    assert (
        response.status_code == 200
        and "regular expression is not valid" in response.content.decode()
    )


def test_the_rule_page_shows_its_dry_run(lea, owner, workspace, sim_channel):
    receive(sim_channel, "s1", "Promo sur http://promo.example")
    receive(sim_channel, "c1", "Ma lampe ne s'allume plus")
    rule = do_save_rule(
        owner,
        workspace,
        name="Promo",
        mode="off",
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "hide"}],
    )
    content = lea.get(
        reverse("moderation:rule_edit", args=[rule.pk]) + "?weeks=12"
    ).content.decode()
    assert "It would have acted on 1 of 2 messages." in content


def test_the_queue_accepts_a_suggestion(lea, owner, workspace, sim_channel):
    do_save_rule(
        owner,
        workspace,
        name="Promo",
        mode="suggest",
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "hide"}],
    )
    receive(sim_channel, "s1", "Promo sur http://promo.example " + HOSTILE)
    page = lea.get(reverse("moderation:queue")).content.decode()
    suggestion = Suggestion.objects.get()
    lea.post(reverse("moderation:decide", args=[suggestion.pk]), {"decision": "accept"})
    assert HOSTILE not in page and Outbox.objects.get().action == "hide"


def test_an_agent_cannot_open_the_rule_form(client, workspace):
    do_add_member(workspace, do_create_user("sam", "correct horse battery"), Role.AGENT)
    assert client.login(username="sam", password="correct horse battery")
    assert client.get(reverse("moderation:rule_new")).status_code == 403


def test_another_workspaces_rule_is_a_404(lea, db):
    other = do_create_workspace("Other")
    their_owner = do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    rule = do_save_rule(
        their_owner,
        other,
        name="Theirs",
        mode="off",
        conditions=[{"field": "language", "value": ["fr"]}],
        actions=[{"type": "tag", "value": "x"}],
    )
    assert lea.get(reverse("moderation:rule_edit", args=[rule.pk])).status_code == 404


def test_house_rules_have_a_public_page(client, owner, workspace):
    do_save_house_rule(owner, workspace, number=1, text_fr="Restez courtois.", text_en="Be kind.")
    response = client.get(reverse("moderation:house_rules_public", args=[workspace.slug]))
    assert response.status_code == 200 and "Be kind." in response.content.decode()
