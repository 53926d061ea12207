"""When to publish and answer: the best hours from a crafted history, the staffing by Erlang C."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Conversation
from cercle.insights.queries import Period
from cercle.insights.timing import build_timing, erlang_c_staff
from cercle.workflow.actions import do_save_sla_policy
from cercle.workflow.models import SlaPolicy
from tests.conftest import sim_body, sim_event

# Monday 2 November 2026, midnight in Paris (UTC+1): two whole weeks.
MONDAY = datetime(2026, 11, 1, 23, tzinfo=UTC)
PERIOD = Period(MONDAY, MONDAY + timedelta(days=14))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 0 is Monday 2 November; hours in Paris."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def post(key: str, published: datetime) -> dict[str, str]:
    return {
        "id": key,
        "text": f"Post {key}",
        "url": f"https://example.com/{key}",
        "published_at": published.isoformat(),
    }


def comments(channel, key: str, published: datetime, times: list[datetime]) -> None:
    events = [
        sim_event(
            f"{key}-{n}",
            text="Elle existe en bleu ?",
            created_at=when.isoformat(),
            author={"id": f"{key}-fan{n}", "name": f"Fan {n}"},
            post=post(key, published),
        )
        for n, when in enumerate(times)
    ]
    do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(*events))))


@pytest.fixture
def history(owner, sim_channel):
    # Two posts at 18:00 draw 4 comments each in their first day (Monday, Tuesday), and one
    # more five days later that does not count; two posts at 09:00 draw 1 each (Wednesday,
    # Thursday); one post at 12:00 (Friday) draws 10 but an hour needs two posts.
    a1, a2 = local(0, 18), local(1, 18)
    comments(
        sim_channel, "a1", a1, [local(0, 18, 5 + 10 * i) for i in range(4)] + [local(5, 18, 30)]
    )
    comments(sim_channel, "a2", a2, [local(1, 18, 5 + 10 * i) for i in range(4)])
    comments(sim_channel, "b1", local(2, 9), [local(2, 9, 30)])
    comments(sim_channel, "b2", local(3, 9), [local(3, 9, 30)])
    comments(sim_channel, "c1", local(4, 12), [local(4, 12, 2 + 5 * i) for i in range(10)])
    # The team worked one hour, Monday 18:00, and answered four comments in it.
    for n, conversation in enumerate(Conversation.objects.filter(post__external_id="a1")[:4]):
        with clock.at(local(0, 18, 10 + 10 * n)):
            do_reply(owner, conversation, "Oui, en bleu nuit.")


def test_erlang_c_by_hand():
    # 10 items an hour, 5 per agent-hour (load 2): 3 agents answer 90 % within an hour,
    # 5 are needed to answer 90 % within a minute; nothing arriving needs nobody.
    assert erlang_c_staff(10, 5, 60, 0.9) == 3
    assert erlang_c_staff(10, 5, 1, 0.9) == 5
    assert erlang_c_staff(0, 5, 60, 0.9) == 0


def test_the_best_hour_to_publish_is_the_one_whose_posts_drew_most(workspace, history):
    timing = build_timing(workspace, PERIOD)
    assert timing.rated_on_posts and timing.posts == 5
    assert (timing.hours[18].posts, timing.hours[18].response) == (2, 4.0)
    assert (timing.hours[9].posts, timing.hours[9].response) == (2, 1.0)
    # One post is not enough to rate an hour.
    assert (timing.hours[12].posts, timing.hours[12].response) == (1, None)
    assert [h.hour for h in timing.best_hours] == [18, 9]
    # Activity per day: 9 comments at 18:00 over 14 days.
    assert timing.hours[18].activity == pytest.approx(9 / 14)
    assert timing.inbound == 5 + 4 + 1 + 1 + 10


def test_staffing_against_the_members_who_worked(workspace, history):
    timing = build_timing(workspace, PERIOD)
    # Three gaps between replies are too few to measure: one reply every 4 minutes assumed.
    assert (timing.replies, timing.member_hours, timing.gaps) == (4, 1, 0)
    assert (timing.handle_minutes, timing.pace) == (4.0, 15.0)
    assert timing.target_minutes == 60 and timing.target_name == ""
    monday_18 = timing.slots[0][18]
    assert (monday_18.arrivals, monday_18.working, monday_18.needed) == (2.0, 0.5, 1)
    assert not monday_18.short
    friday_noon = timing.slots[4][12]
    # 10 comments over two Fridays: 5 an hour, load 1/3: one member answers 90 % in the hour.
    assert (friday_noon.arrivals, friday_noon.working, friday_noon.needed) == (5.0, 0.0, 1)
    # Short-handed, each by one member: the busiest hour first (Friday noon, 5 an hour).
    assert [(s.weekday, s.hour) for s in timing.short_slots] == [
        (4, 12),
        (1, 18),
        (2, 9),
        (3, 9),
        (5, 18),
    ]


def test_the_pace_is_measured_from_runs_of_replies(owner, workspace, history):
    conversation = Conversation.objects.filter(post__external_id="c1").first()
    # 21 replies three minutes apart on Wednesday morning (20 gaps), then one two hours later.
    for n in range(21):
        with clock.at(local(2, 10, 3 * n)):
            do_reply(owner, conversation, f"Réponse {n}")
    with clock.at(local(2, 13)):
        do_reply(owner, conversation, "Encore une")
    timing = build_timing(workspace, PERIOD)
    # The history's three 10-minute gaps count too: 23 gaps, median 3.
    assert (timing.gaps, timing.handle_minutes, timing.pace) == (23, 3.0, 20.0)


def test_the_sla_target_sets_the_staffing(owner, workspace, history):
    do_save_sla_policy(owner, workspace, SlaPolicy(name="Rapide", first_response_minutes=1))
    timing = build_timing(workspace, PERIOD)
    assert (timing.target_minutes, timing.target_name) == (1, "Rapide")
    # 5 an hour, 15 a member-hour, within a minute: by hand one member answers 72 % in
    # time, two answer 97 %.
    assert timing.slots[4][12].needed == 2


def test_the_page_and_its_csv(owner, workspace, history):
    client = Client()
    client.login(username="lea", password="correct horse battery")
    with clock.at(PERIOD.end):
        html = client.get(reverse("insights:timing"), {"days": 30}).content.decode()
        csv = client.get(reverse("insights:timing"), {"days": 30, "format": "csv"})
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
        french = client.get(reverse("insights:timing"), {"days": 30}).content.decode()
    assert "Publish around" in html and "<strong>18:00</strong>" in html
    assert "Short-handed:" in html and "Fri 12:00" in html
    assert "Publiez vers" in french and "En sous-effectif" in french
    rows = csv.content.decode().splitlines()
    assert rows[0] == "Weekday,Hour,Items needing a reply,Members working,Members needed"
    assert len(rows) == 1 + 7 * 24


def test_the_arrivals_read_from_the_rollups_equal_the_raw_ones(workspace, history, sim_channel):
    from cercle.inbox.models import Message
    from cercle.insights.actions import do_roll_up
    from cercle.insights.models import VolumeRollup

    # One comment needs no reply (it is not counted in the staffing's arrivals).
    Message.objects.filter(external_id="c1-0").update(needs_reply=False)
    now = MONDAY + timedelta(days=13, hours=15)  # Sunday of the second week, 15:00 in Paris
    comments(sim_channel, "d1", now - timedelta(hours=2), [now - timedelta(hours=1)])  # today
    with clock.at(now):
        while do_roll_up().worked:
            pass
    assert VolumeRollup.objects.filter(workspace=workspace).exists()
    period = Period(MONDAY, now)
    rolled, raw = build_timing(workspace, period), build_timing(workspace, period, False)
    assert (rolled.inbound, rolled.needing_reply) == (raw.inbound, raw.needing_reply) == (22, 21)
    assert rolled.hours == raw.hours and rolled.slots == raw.slots
    assert rolled.best_weekdays == raw.best_weekdays
    assert rolled.slots[4][12].arrivals == 4.5  # 9 of Friday noon's 10 over two Fridays
