"""Undo a rule's hide from the timeline, and cite a house rule when hiding, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cercle.inbox.models import Outbox
from cercle.moderation.actions import do_save_house_rule, do_save_rule
from cercle.moderation.choices import RuleMode
from cercle.workspaces.models import Activity
from tests.browser.conftest import login
from tests.moderation.test_rules import receive

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_a_rules_hide_is_undone_from_the_timeline(page, workspace, owner, agent, sim_channel):
    do_save_rule(
        owner,
        workspace,
        name="Liens promo",
        mode=RuleMode.LIVE,
        conditions=[{"field": "text_contains", "value": ["promo.example"]}],
        actions=[{"type": "hide"}],
    )
    message = receive(sim_channel, "s1", "Offre sur promo.example")
    hide = Activity.objects.get(verb="moderation_requested", automation="rule")
    login(page, "sam")
    page.goto(f"/c/{message.conversation_id}/")
    line = page.locator(f"#activity-{hide.pk}")
    expect(line).to_contain_text("Liens promo asked the platform: hide")
    line.get_by_role("button", name="Undo").click()
    # The pane is re-drawn in place: the line says undone, and who undid it follows.
    expect(page.locator(f"#activity-{hide.pk}")).to_contain_text("undone")
    expect(page.locator(f"#activity-{hide.pk}").get_by_role("button", name="Undo")).to_have_count(0)
    expect(page.locator(".timeline")).to_contain_text("Sam undid what “Liens promo” did")
    assert Outbox.objects.filter(action="unhide", message=message).count() == 1


def test_hiding_cites_the_chosen_house_rule(page, workspace, owner, agent, sim_channel):
    do_save_house_rule(owner, workspace, number=1, text_fr="Courtoisie.", text_en="Be kind.")
    do_save_house_rule(owner, workspace, number=2, text_fr="Pas de pub.", text_en="No ads.")
    message = receive(sim_channel, "c1", "Achetez ici")
    login(page, "sam")
    page.goto(f"/c/{message.conversation_id}/")
    item = page.locator(f"#message-{message.pk}")
    # Without a house rule, the hide is refused with the reason.
    item.get_by_role("button", name="Hide").click()
    expect(page.locator("#conversation")).to_contain_text("Choose the house rule this enforces.")
    page.locator(f"#house-rule-{message.pk}").select_option("2")
    page.locator(f"#message-{message.pk}").get_by_role("button", name="Hide").click()
    expect(page.locator(".timeline")).to_contain_text("Sam asked the platform: hide · house rule 2")
    asked = Activity.objects.get(verb="moderation_requested")
    assert asked.data == {"action": "hide", "house_rule": 2}


def test_l_corrects_the_latest_messages_label_by_keyboard(page, workspace, agent, sim_channel):
    from django.utils import timezone

    from cercle.inbox.models import Message

    first = receive(sim_channel, "c1", "Bonjour", author="u1")
    latest = receive(sim_channel, "c2", "Vous êtes nuls", author="u1")
    Message.objects.filter(pk__in=[first.pk, latest.pk]).update(
        sentiment="positive", classified_at=timezone.now(), classified_by="test"
    )
    login(page, "sam")
    page.goto(f"/c/{latest.conversation_id}/")
    page.wait_for_load_state("load")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_contain_text("Correct the labels of the latest message")
    page.keyboard.press("Escape")
    page.keyboard.press("l")
    fix = page.locator(f"#message-{latest.pk} .label-fix")
    expect(fix).to_have_attribute("open", "")
    # The current sentiment has the focus; the next one (neutral, then negative) a tab away.
    focused = page.locator(f"#message-{latest.pk} .label-fix button:focus")
    expect(focused).to_have_attribute("value", "positive")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(focused).to_have_attribute("value", "negative")
    page.keyboard.press("Enter")
    expect(page.locator(f"#labels-{latest.pk} [data-label='sentiment:negative']")).to_have_count(1)
    latest.refresh_from_db()
    first.refresh_from_db()
    assert (latest.sentiment, first.sentiment) == ("negative", "positive")
