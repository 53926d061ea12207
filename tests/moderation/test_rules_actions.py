"""Rule actions: unhide, assign to a team, and actions offered only where a channel can do them."""

from cercle.connectors.base import Capability, RawEventData
from cercle.connectors.registry import connector_for
from cercle.connectors.simulator.connector import SimulatorConnector
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.inbox.templatetags.inbox_tags import activity_line
from cercle.moderation.actions import do_save_rule
from cercle.moderation.choices import RuleMode
from cercle.moderation.forms import RuleForm
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_create_team, do_create_workspace
from cercle.workspaces.models import Activity, Team
from tests.conftest import sim_body, sim_event

TRIGGER = [{"field": "text_contains", "value": ["remboursement"]}]


def receive(channel, event_id, text="Je veux un remboursement", author="u1"):
    event = sim_event(event_id, text=text, author={"id": author, "name": f"Person {author}"})
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))
    return Message.objects.get(channel=channel, external_id=event_id)


def rule(owner, workspace, actions, conditions=TRIGGER):
    return do_save_rule(
        owner,
        workspace,
        name="Refunds",
        conditions=conditions,
        actions=actions,
        mode=RuleMode.LIVE,
    )


def test_a_rule_unhides_through_the_platform(owner, workspace, sim_channel):
    rule(owner, workspace, [{"type": "unhide"}])
    message = receive(sim_channel, "u1")
    assert list(Outbox.objects.filter(message=message).values_list("action", flat=True)) == [
        "unhide"
    ]
    requested = Activity.objects.get(verb="moderation_requested", message=message)
    assert (requested.automation, requested.data["action"]) == ("rule", "unhide")


def test_a_rule_gives_the_conversation_to_a_team(owner, workspace, sim_channel):
    team = do_create_team(owner, workspace, "Service client")
    rule(owner, workspace, [{"type": "assign_team", "value": "service CLIENT"}])
    message = receive(sim_channel, "t1")
    assert Conversation.objects.get(pk=message.conversation_id).team_id == team.pk
    assigned = Activity.objects.get(verb="assigned", conversation_id=message.conversation_id)
    assert (assigned.automation, assigned.data["team_id"]) == ("rule", team.pk)


def test_a_team_of_another_workspace_or_gone_is_skipped_and_said(owner, workspace, sim_channel):
    other = do_create_workspace("Autre maison", timezone="Europe/Paris")
    theirs = Team.objects.create(workspace=other, name="Theirs")
    rule(
        owner,
        workspace,
        [{"type": "assign_team", "value": "Nobody"}, {"type": "assign_team", "value": theirs.pk}],
    )
    message = receive(sim_channel, "t2")
    assert Conversation.objects.get(pk=message.conversation_id).team_id is None
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["skipped"] == [{"action": "assign_team", "reason": "not_found"}] * 2


def test_an_action_the_channel_cannot_do_is_skipped_and_the_reason_logged(
    owner, workspace, sim_channel, monkeypatch
):
    rule(owner, workspace, [{"type": "ban"}, {"type": "tag", "value": "refund"}])
    without_ban = SimulatorConnector.capabilities - {Capability.BAN}
    monkeypatch.setattr(SimulatorConnector, "capabilities", without_ban)
    message = receive(sim_channel, "b1")
    assert not Outbox.objects.exists()
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["actions"] == ["tag"]
    assert fired.data["skipped"] == [{"action": "ban", "reason": "not_on_channel"}]
    line = str(activity_line(fired))
    assert "Refunds" in line and "Ban the author" in line and "does not allow" in line


def form_data(**extra):
    return {
        "name": "Hide links",
        "mode": "live",
        "position": "0",
        "condition_0": "text_contains",
        "condition_value_0": "http",
        "action_0": "hide",
        **extra,
    }


def test_the_form_refuses_an_action_no_channel_of_the_rule_can_do(workspace, sim_channel):
    feed = do_create_channel(workspace, "rss", "Blog", config={"url": "https://ex.com/feed"})
    only_rss = form_data(condition_1="channel", condition_value_1=str(feed.pk))
    form = RuleForm(only_rss, workspace=workspace)
    assert not form.is_valid()
    assert "not possible" in str(form.errors["action_0"]) and "rss" in str(form.errors["action_0"])
    # On every channel: the simulator can hide, so the action is offered (skipped on the feed).
    assert RuleForm(form_data(), workspace=workspace).is_valid()


def test_the_form_marks_actions_unavailable_on_the_rule_s_channels(owner, workspace, sim_channel):
    feed = do_create_channel(workspace, "rss", "Blog", config={"url": "https://ex.com/feed"})
    saved = rule(
        owner,
        workspace,
        [{"type": "tag", "value": "x"}],
        conditions=[{"field": "channel", "value": [str(feed.pk)]}],
    )
    labels = dict(RuleForm(workspace=workspace, rule=saved).fields["action_0"].choices)
    assert "no channel of this rule can do it" in str(labels["hide"])
    assert "no channel" not in str(labels["tag"])
    everywhere = dict(RuleForm(workspace=workspace).fields["action_0"].choices)
    assert "no channel" not in str(everywhere["hide"])


# --- notify and outgoing webhook ----------------------------------------------------------


def test_a_rule_notifies_the_members_and_roles_it_names(owner, agent, workspace, sim_channel):
    from cercle.notifications.actions import do_drain_activity_log
    from cercle.notifications.models import Notification
    from cercle.notifications.queries import describe

    do_drain_activity_log()
    rule(owner, workspace, [{"type": "notify", "value": "sam, owner"}])
    message = receive(sim_channel, "n1")
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["notify"] == sorted([owner.pk, agent.pk])
    do_drain_activity_log()
    told = Notification.objects.filter(activity=fired)
    assert set(told.values_list("member_id", flat=True)) == {owner.pk, agent.pk}
    assert "Refunds" in describe(told.first())


def test_a_notify_naming_nobody_of_this_workspace_is_skipped(owner, workspace, sim_channel):
    from cercle.notifications.actions import do_drain_activity_log
    from cercle.notifications.models import Notification

    rule(owner, workspace, [{"type": "notify", "value": "999999, ghost"}])
    message = receive(sim_channel, "n2")
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["skipped"] == [{"action": "notify", "reason": "not_found"}]
    do_drain_activity_log()
    assert not Notification.objects.filter(activity=fired).exists()


def test_a_rule_sends_to_the_webhook_it_names_even_if_not_subscribed(owner, workspace, sim_channel):
    from cercle.notifications.actions import do_create_webhook_endpoint, do_drain_activity_log
    from cercle.notifications.models import WebhookDelivery

    named, _secret = do_create_webhook_endpoint(
        owner, workspace, name="Chat", url="https://hooks.example.com/a", events=["assigned"]
    )
    other, _secret = do_create_webhook_endpoint(
        owner, workspace, name="Other", url="https://hooks.example.com/b", events=["assigned"]
    )
    rule(owner, workspace, [{"type": "webhook", "value": "chat"}])
    message = receive(sim_channel, "w1")
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["webhooks"] == [named.pk]
    do_drain_activity_log()
    deliveries = WebhookDelivery.objects.filter(activity=fired)
    assert list(deliveries.values_list("endpoint_id", flat=True)) == [named.pk]
    assert deliveries.get().event_type == "activity.rule_fired"
    assert other.pk not in set(WebhookDelivery.objects.values_list("endpoint_id", flat=True))


def test_a_webhook_of_another_workspace_is_never_named(owner, workspace, sim_channel):
    from cercle.notifications.models import WebhookEndpoint

    elsewhere = do_create_workspace("Autre maison", timezone="Europe/Paris")
    theirs = WebhookEndpoint.objects.create(
        workspace=elsewhere, name="Theirs", url="https://hooks.example.com/t", secret_encrypted=""
    )
    rule(owner, workspace, [{"type": "webhook", "value": str(theirs.pk)}])
    message = receive(sim_channel, "w2")
    fired = Activity.objects.get(verb="rule_fired", message=message)
    assert fired.data["webhooks"] == []
    assert fired.data["skipped"] == [{"action": "webhook", "reason": "not_found"}]


def test_without_any_channel_yet_every_action_is_offered(workspace):
    assert RuleForm(form_data(), workspace=workspace).is_valid()


def test_the_rule_page_lists_recent_posts_to_pick_from(owner, workspace, sim_channel, client):
    from django.urls import reverse

    hostile = '<img src=x onerror="alert(1)">Notre lampe'
    event = sim_event("p1c", post={"id": "lamp", "text": hostile, "url": "https://ex.com/l"})
    do_receive(sim_channel, connector_for(sim_channel).parse(RawEventData(body=sim_body(event))))
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("moderation:rule_new")).content.decode()
    assert "Notre lampe" in page and "<img src=x" not in page


def test_the_action_refuses_it_too_as_the_api_does(owner, workspace):
    import pytest
    from django.core.exceptions import ValidationError

    feed = do_create_channel(workspace, "rss", "Blog", config={"url": "https://ex.com/feed"})
    with pytest.raises(ValidationError, match="Ban the author"):
        rule(
            owner,
            workspace,
            [{"type": "ban"}],
            conditions=[{"field": "channel", "value": [str(feed.pk)]}],
        )
