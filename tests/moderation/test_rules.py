"""Rules in their three modes, dry runs against the team's own decisions, and undo."""

import httpx
import pytest
from django.core.exceptions import ValidationError

from cercle.connectors.base import RawEventData
from cercle.connectors.http import transport
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_change_status, do_moderate_message, do_receive
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.moderation.actions import (
    do_decide_suggestion,
    do_save_house_rule,
    do_save_rule,
    do_undo_activity,
)
from cercle.moderation.choices import RuleMode
from cercle.moderation.dryrun import dry_run
from cercle.moderation.models import Rule, Suggestion
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event
from tests.pipeline.test_outbox import FakeSimulatorPlatform

SPAM = "Gagnez 1000 € maintenant sur http://promo.example !!!"
SPAM_RULE = [{"field": "text_contains", "value": ["promo.example"]}]
HIDE_AND_REPLY = [
    {"type": "hide"},
    {"type": "ban"},
    {"type": "reply", "value": "Merci de respecter la charte."},
    {"type": "tag", "value": "spam"},
]


def receive(channel, event_id, text, author="u1"):
    event = sim_event(event_id, text=text, author={"id": author, "name": f"Person {author}"})
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    return Message.objects.get(channel=channel, external_id=event_id)


def spam_rule(owner, workspace, mode, **extra):
    return do_save_rule(
        owner,
        workspace,
        name="Spam links",
        conditions=SPAM_RULE,
        actions=HIDE_AND_REPLY,
        mode=mode,
        **extra,
    )


def test_a_live_rule_hides_bans_and_replies_through_the_platform(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.LIVE)
    message = receive(sim_channel, "s1", SPAM)
    platform = FakeSimulatorPlatform()
    with transport(httpx.MockTransport(platform)):
        send_due()
    assert sorted(p["kind"] for p in platform.posts) == ["ban", "hide", "reply"]
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert (fired.automation, fired.automation_name) == ("rule", "Spam links")


@pytest.mark.parametrize("mode", [RuleMode.SUGGEST, RuleMode.OFF])
def test_suggest_only_and_off_rules_send_nothing_to_the_platform(
    owner, workspace, sim_channel, mode
):
    spam_rule(owner, workspace, mode)
    receive(sim_channel, "s1", SPAM)
    assert (Outbox.objects.count(), Suggestion.objects.count()) == (
        0,
        1 if mode == RuleMode.SUGGEST else 0,
    )


def test_accepting_a_suggestion_does_the_actions_once(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.SUGGEST)
    receive(sim_channel, "s1", SPAM)
    suggestion = Suggestion.objects.get()
    do_decide_suggestion(owner, suggestion, accept=True)
    with pytest.raises(ValueError):
        do_decide_suggestion(owner, suggestion, accept=True)
    assert sorted(Outbox.objects.values_list("action", flat=True)) == ["ban", "hide", "reply"]


def test_a_message_that_does_not_match_is_left_alone(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.LIVE)
    receive(sim_channel, "c1", "Ma lampe clignote, que faire ?")
    assert (Outbox.objects.count(), Activity.objects.filter(verb="rule_fired").count()) == (0, 0)


def test_stop_after_this_rule_keeps_later_rules_from_firing(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.LIVE, position=0, stop=True)
    do_save_rule(
        owner,
        workspace,
        name="Tag all",
        conditions=SPAM_RULE,
        actions=[{"type": "tag", "value": "later"}],
        mode=RuleMode.LIVE,
        position=1,
    )
    receive(sim_channel, "s1", SPAM)
    tags = set(Conversation.objects.get().tags.values_list("name", flat=True))
    assert tags == {"spam"}


def test_a_regular_expression_that_does_not_compile_is_refused(owner, workspace):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        do_save_rule(
            owner,
            workspace,
            name="Bad",
            mode=RuleMode.LIVE,
            conditions=[{"field": "text_matches", "value": "(unclosed"}],
            actions=[{"type": "tag", "value": "x"}],
        )


def test_a_rule_without_condition_is_refused(owner, workspace):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        do_save_rule(
            owner, workspace, name="All", conditions=[], actions=[{"type": "tag", "value": "x"}]
        )


def test_platform_actions_stop_at_the_hourly_limit(owner, workspace, sim_channel):
    rule = spam_rule(owner, workspace, RuleMode.LIVE)
    rule.hourly_limit = 2
    rule.save(update_fields=["hourly_limit"])
    for n in range(3):
        receive(sim_channel, f"s{n}", SPAM, author=f"u{n}")
    # hide + ban + reply of the first message reach the limit; later messages only get tagged.
    assert Outbox.objects.count() == 2


def test_an_agent_cannot_write_rules(agent, workspace):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        spam_rule(agent, workspace, RuleMode.LIVE)


# --- undo ---------------------------------------------------------------------------------


def test_an_automated_tag_and_hide_are_undone_from_the_log(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.LIVE)
    receive(sim_channel, "s1", SPAM)
    conversation = Conversation.objects.get()
    do_undo_activity(owner, Activity.objects.get(verb="tagged", automation="rule"))
    hide = Activity.objects.get(verb="moderation_requested", automation="rule", data__action="hide")
    do_undo_activity(owner, hide)
    assert not conversation.tags.exists()
    assert "unhide" in Outbox.objects.values_list("action", flat=True)


# --- dry runs -----------------------------------------------------------------------------


def test_a_dry_run_measures_precision_and_recall_against_what_the_team_did(
    owner, workspace, sim_channel
):
    """Four messages: the rule catches two, the team hid three (one of them not caught).

    Hits: s1 (hidden by the team), s2 (not hidden). Team hid: s1, h1, h2.
    Precision 1/2, recall 1/3.
    """
    hits = [receive(sim_channel, "s1", SPAM, "a"), receive(sim_channel, "s2", SPAM, "b")]
    others = [
        receive(sim_channel, "h1", "Insulte", "c"),
        receive(sim_channel, "h2", "Hors sujet", "d"),
    ]
    Message.objects.filter(pk__in=[hits[0].pk, others[0].pk, others[1].pk]).update(is_hidden=True)
    rule = spam_rule(owner, workspace, RuleMode.OFF)
    result = dry_run(rule, weeks=520)
    assert (result.evaluated, result.hits, result.team_did, result.agreed) == (4, 2, 3, 1)
    assert (result.precision, round(result.recall, 3)) == (0.5, 0.333)


def test_a_dry_run_acts_on_nothing(owner, workspace, sim_channel):
    receive(sim_channel, "s1", SPAM)
    rule = spam_rule(owner, workspace, RuleMode.OFF)
    dry_run(rule, weeks=520)
    assert (Outbox.objects.count(), Activity.objects.filter(verb="rule_fired").count()) == (0, 0)


# --- house rules ---------------------------------------------------------------------------


def test_a_rule_cites_the_house_rule_it_enforces(owner, workspace, sim_channel):
    house = do_save_house_rule(owner, workspace, number=3, text_fr="Pas de pub.", text_en="No ads.")
    spam_rule(owner, workspace, RuleMode.LIVE, house_rule=house)
    message = receive(sim_channel, "s1", SPAM)
    assert Activity.objects.get(verb="rule_fired", message=message).data["house_rule"] == 3


def test_people_and_closed_conversations_are_unaffected_by_off_rules(owner, workspace, sim_channel):
    spam_rule(owner, workspace, RuleMode.OFF)
    message = receive(sim_channel, "s1", SPAM)
    do_change_status(owner, message.conversation, "closed")
    do_moderate_message(owner, message, "hide")
    assert not Activity.objects.filter(verb="rule_fired").exists()


def test_a_rule_saved_with_a_word_for_a_number_never_holds_and_never_breaks(
    owner, workspace, sim_channel
):
    # Written before the number check (or by hand): the engine reads it as "does not hold".
    Rule.objects.create(
        workspace=workspace,
        name="Old",
        mode=RuleMode.LIVE,
        conditions=[{"field": "author_hidden_at_least", "value": "beaucoup"}],
        actions=[{"type": "tag", "value": "old"}],
    )
    message = receive(sim_channel, "n1", "Bonjour")
    assert not Activity.objects.filter(verb="rule_fired", message=message).exists()
    with pytest.raises(ValidationError, match="takes a number"):
        do_save_rule(
            owner,
            workspace,
            name="New",
            conditions=[{"field": "toxicity_at_least", "value": "beaucoup"}],
            actions=[{"type": "tag", "value": "x"}],
        )
