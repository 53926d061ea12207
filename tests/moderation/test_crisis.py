"""The crisis alert fires on an outage burst, not on a normal day; it ends, and says what drives it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.core import clock
from cercle.moderation import actions, crisis
from cercle.moderation.actions import (
    do_acknowledge_crisis,
    do_aggregate_pulses,
    do_classify_pending,
    do_watch_crises,
)
from cercle.moderation.classifiers.base import Batch, Prediction
from cercle.moderation.crisis import drivers
from cercle.moderation.models import CrisisAlert, Pulse
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_event
from tests.inbox.test_views import receive

# Monday 2 November 2026, midnight UTC: eight ordinary days follow.
START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 8
# Messages in an ordinary hour of the day: quiet nights, a working day, a busy evening.
USUAL = {h: 1 for h in range(7)} | {h: 3 for h in range(7, 18)} | {h: 10 for h in range(18, 22)}
USUAL |= {22: 2, 23: 2}


def fake_classifiers(texts, languages=None):
    """A stand-in for the models: 'panne' (outage) is negative, anything else positive."""
    batch = Batch(texts=texts, languages=languages or [""] * len(texts))
    batch.predictions["sentiment"] = [
        Prediction("negative" if "panne" in t else "positive", 1.0, "test") for t in texts
    ]
    return batch


@pytest.fixture(autouse=True)
def _labels(monkeypatch):
    monkeypatch.setattr(actions, "classify_texts", fake_classifiers)


def comment(n: int, when: datetime, text: str) -> dict:
    return sim_event(
        f"c{n}",
        text=text,
        created_at=when.isoformat(),
        author={"id": f"u{n}", "name": f"Fan {n}"},
    )


def ordinary_days(channel) -> int:
    n = 0
    for day in range(DAYS):
        events = []
        for hour, count in USUAL.items():
            for i in range(count):
                when = START + timedelta(days=day, hours=hour, minutes=i * 50 // count)
                events.append(comment(n, when, f"Superbe lampe, livraison rapide {n}"))
                n += 1
        with clock.at(START + timedelta(days=day + 1)):
            receive(channel, *events)
    return n


def burst(channel, first: int, count: int, end: datetime, text: str) -> None:
    events = [
        comment(first + i, end - timedelta(minutes=45) + timedelta(seconds=i * 2700 // count), text)
        for i in range(count)
    ]
    with clock.at(end):
        receive(channel, *events)


def settle(at: datetime) -> None:
    """What the worker does: label, count into pulses."""
    with clock.at(at):
        while do_classify_pending():
            pass
        while do_aggregate_pulses():
            pass


def check(at: datetime) -> list[CrisisAlert]:
    settle(at)
    with clock.at(at):
        return do_watch_crises(at)


def test_a_normal_week_raises_no_alert_at_any_hour(sim_channel):
    ordinary_days(sim_channel)
    last_day = START + timedelta(days=DAYS - 1)
    raised = [check(last_day + timedelta(hours=h, minutes=30)) for h in range(24)]
    assert (sum(map(len, raised)), CrisisAlert.objects.count()) == (0, 0)
    # Every message was counted once, in its quarter hour, for the channel and for its post.
    assert sum(Pulse.objects.filter(post__isnull=True).values_list("messages", flat=True)) == (
        DAYS * sum(USUAL.values())
    )


def test_an_outage_burst_raises_volume_and_negative_alerts_on_the_channel_and_the_post(
    sim_channel,
):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "Encore une panne, plus rien ne marche !")
    raised = check(now)
    assert sorted((a.post_id is None, a.signal) for a in raised) == [
        (False, "negative"),
        (False, "volume"),
        (True, "negative"),
        (True, "volume"),
    ]
    volume = next(a for a in raised if a.post_id is None and a.signal == "volume")
    assert (volume.observed, volume.history_hours) == (40, 7 * 24)
    assert Activity.objects.filter(verb="crisis_started").count() == 4
    # A second check in the same burst keeps the alerts running, it raises none again.
    assert check(now + timedelta(minutes=5)) == []
    assert CrisisAlert.objects.filter(ended_at__isnull=True).count() == 4


def test_a_negative_evening_at_usual_volume_raises_only_the_negative_share(sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=20, minutes=50)
    burst(sim_channel, n, 12, now, "La panne dure depuis ce matin")
    raised = check(now)
    assert sorted((a.post_id is None, a.signal) for a in raised) == [
        (False, "negative"),
        (True, "negative"),
    ]
    alert = next(a for a in raised if a.post_id is None)
    assert (alert.observed, alert.baseline) == (1.0, 0.0)


def test_an_alert_ends_after_a_quiet_hour(sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "panne générale")
    check(now)
    check(now + timedelta(minutes=50))
    assert CrisisAlert.objects.filter(ended_at__isnull=True).count() == 4
    check(now + timedelta(minutes=61))
    assert CrisisAlert.objects.filter(ended_at__isnull=True).count() == 0
    assert Activity.objects.filter(verb="crisis_ended").count() == 4


def test_too_little_history_says_nothing(sim_channel):
    now = START + timedelta(hours=10)
    burst(sim_channel, 0, 60, now, "panne")
    assert check(now) == []


def test_unlabelled_recent_messages_wait_for_their_labels_before_being_counted(
    sim_channel, monkeypatch
):
    receive(sim_channel, comment(1, START, "panne"))
    assert do_aggregate_pulses() == 0
    # Once the grace is over (classifiers off or late), it counts, unlabelled, once.
    monkeypatch.setattr(crisis, "CLASSIFY_GRACE", timedelta(0))
    assert (do_aggregate_pulses(), do_aggregate_pulses()) == (1, 0)
    pulse = Pulse.objects.get(post__isnull=True)
    assert (pulse.start, pulse.messages, pulse.classified, pulse.negative) == (START, 1, 0, 0)


def test_the_drivers_name_the_rising_words_and_the_post(sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "Encore une panne de serveur, application bloquée")
    alert = next(a for a in check(now) if a.post_id is None and a.signal == "volume")
    found = drivers(alert)
    words = [term for term, _ in found.terms]
    assert {"panne", "serveur", "bloquée"} <= set(words[:4]) and "lampe" not in words
    assert (found.total, found.sentiments, found.posts[0][1]) == (40, {"negative": 40}, 40)


def test_acknowledging_needs_a_member_who_may_moderate(workspace, owner, sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "panne")
    alert = check(now)[0]
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    with pytest.raises(PermissionDenied):
        do_acknowledge_crisis(viewer, alert)
    do_acknowledge_crisis(owner, alert)
    alert.refresh_from_db()
    assert alert.acknowledged_by == owner


def test_the_banner_and_the_alert_page_show_it_to_its_workspace_only(workspace, owner, sim_channel):
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "panne <script>alert(1)</script>")
    alert = next(a for a in check(now) if a.post_id is None and a.signal == "volume")
    client = Client()
    assert client.login(username="lea", password="correct horse battery")
    page = client.get(reverse("inbox:index")).content.decode()
    assert 'class="crisis-banner"' in page and reverse("moderation:crisis", args=[alert.pk]) in page
    detail = client.get(reverse("moderation:crisis", args=[alert.pk])).content.decode()
    assert "panne" in detail and "<script>alert(1)" not in detail
    # Another workspace's member sees neither the banner nor the page.
    from cercle.workspaces.actions import do_create_workspace

    other = do_create_workspace("Autre")
    do_add_member(other, do_create_user("zoe", "correct horse battery"), Role.OWNER)
    stranger = Client()
    assert stranger.login(username="zoe", password="correct horse battery")
    assert 'class="crisis-banner"' not in stranger.get(reverse("inbox:index")).content.decode()
    assert stranger.get(reverse("moderation:crisis", args=[alert.pk])).status_code == 404


def test_below_the_minimum_volume_setting_a_burst_is_no_volume_crisis(sim_channel, settings):
    # A very busy installation (or the demo's live community) raises the floor.
    settings.CERCLE_CRISIS_MIN_VOLUME = 41
    n = ordinary_days(sim_channel)
    now = START + timedelta(days=DAYS, hours=14, minutes=30)
    burst(sim_channel, n, 40, now, "Superbe lampe, bravo !")
    assert check(now) == []
    settings.CERCLE_CRISIS_MIN_VOLUME = 40
    assert {a.signal for a in check(now + timedelta(minutes=5))} == {"volume"}
