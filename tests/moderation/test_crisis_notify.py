"""A crisis alert notifies the workspace's managers, once for a burst; agents are not called."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.test import Client
from django.urls import reverse

from cercle.core import clock
from cercle.notifications.actions import do_drain_activity_log
from cercle.notifications.mail import send_pending_mail
from cercle.notifications.models import Notification
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Availability, Role
from cercle.workspaces.models import Activity, Member
from tests.moderation.test_crisis import DAYS, START, _labels, burst, check, ordinary_days

__all__ = ["_labels"]  # the crisis tests' stand-in classifiers, used here too


def drain(at) -> None:
    """What the worker does after a check: read the Activity log into notifications."""
    with clock.at(at):
        while do_drain_activity_log().activities:
            pass


def test_a_burst_notifies_managers_once_by_bell_and_mail_and_agents_not(
    workspace, owner, agent, sim_channel
):
    user = do_create_user("max", "correct horse battery", first_name="Max", email="max@example.com")
    manager = do_add_member(workspace, user, Role.MANAGER)
    Member.objects.filter(pk=manager.pk).update(availability=Availability.AWAY)
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "Encore une panne, plus rien ne marche !")
    raised = check(now)
    # Volume and negative share, on the channel and on its post: four alerts, one burst.
    assert len(raised) == 4
    drain(now)
    # The same burst, checked again five minutes later: the alerts run on, nobody is told again.
    check(now + timedelta(minutes=5))
    drain(now + timedelta(minutes=5))
    notified = sorted(
        Notification.objects.filter(kind="crisis_alert").values_list("member_id", flat=True)
    )
    assert notified == sorted([owner.pk, manager.pk])
    assert not Notification.objects.filter(member=agent).exists()
    # The manager is away: the alert is mailed too (per their preferences), once.
    assert send_pending_mail(now) == 1
    assert [m.to for m in mail.outbox] == [["max@example.com"]]
    # Following it opens the alert's page.
    client = Client()
    assert client.login(username="max", password="correct horse battery")
    notification = Notification.objects.get(member=manager)
    response = client.get(reverse("notifications:open", args=[notification.pk]))
    alert = Activity.objects.get(pk=notification.activity_id).data["alert"]
    assert response["Location"] == reverse("moderation:crisis", args=[alert])


def test_the_end_and_the_acknowledgement_of_an_alert_notify_nobody(workspace, owner, sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "Encore une panne, plus rien ne marche !")
    check(now)
    drain(now)
    before = Notification.objects.count()
    assert before == 1  # the owner, for the burst
    check(now + timedelta(minutes=61))
    assert Activity.objects.filter(verb="crisis_ended").exists()
    drain(now + timedelta(minutes=61))
    assert Notification.objects.count() == before
