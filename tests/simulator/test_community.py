from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from cercle.simulator.channels import CHANNELS
from cercle.simulator.community import PARIS, Community, generate_events

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def _week(seed: int = 3) -> list:
    return Community(seed).events_between(START, START + timedelta(days=7))


def test_same_seed_same_events_other_seed_other_events():
    first = [(k, e.id, e.text, e.created_at) for k, e in _week(3)]
    again = [(k, e.id, e.text, e.created_at) for k, e in _week(3)]
    other = [(k, e.id, e.text, e.created_at) for k, e in _week(4)]
    assert first == again
    assert first != other


def test_a_window_regenerates_identically_inside_a_longer_one():
    community = Community(9)
    day = community.events_between(START + timedelta(days=2), START + timedelta(days=3))
    week = community.events_between(START, START + timedelta(days=7))
    inside = [
        e.id
        for _, e in week
        if START + timedelta(days=2) <= e.created_at < START + timedelta(days=3)
    ]
    assert [e.id for _, e in day] == inside


def test_both_languages_every_kind_and_every_category_are_produced():
    events = _week()
    assert {e.author.language for _, e in events} == {"fr", "en"}
    assert {e.type for _, e in events} >= {
        "comment",
        "reply",
        "mention",
        "share",
        "message",
        "review",
    }
    assert {e.category for _, e in events} >= {
        "question",
        "complaint",
        "praise",
        "spam",
        "troll",
        "toxic",
    }


def test_text_is_varied_in_each_language():
    events = Community(3).events_between(START, START + timedelta(days=7), per_day=400)
    for language in ("fr", "en"):
        texts = [e.text for _, e in events if e.author.language == language and e.text]
        assert len(set(texts)) >= 500 and len(set(texts)) > 0.6 * len(texts), language


def test_a_few_hundred_recurring_authors_come_back():
    events = Community(3).events_between(START, START + timedelta(days=28))
    per_author = Counter(e.author.id for _, e in events)
    assert len(per_author) >= 150
    assert sum(1 for n in per_author.values() if n >= 5) >= 50


def test_review_text_matches_its_stars():
    from cercle.simulator import phrases

    events = _week()
    reviews = [e for _, e in events if e.type == "review" and e.op == "create"]
    # Each review's text contains the fixed opening words of a template of its own rating.
    openings = {
        (lang, stars): [t.split("{")[0][:12] for t in templates]
        for lang, by_stars in phrases.REVIEWS.items()
        for stars, templates in by_stars.items()
    }
    mismatched = [
        e
        for e in reviews
        if not any(o and o in e.text for o in openings[e.author.language, e.rating])
    ]
    assert reviews and len(mismatched) < len(reviews) * 0.2


def test_lunch_and_evening_are_busier_than_the_night():
    events = Community(11).events_between(START, START + timedelta(days=7))
    hours = Counter(e.created_at.astimezone(PARIS).hour for _, e in events if e.op == "create")
    peak = (hours[12] + hours[19] + hours[20]) / 3
    night = (hours[3] + hours[4]) / 2
    assert peak > 4 * max(night, 1)


def test_an_outage_brings_a_wave_of_complaints():
    community = Community(5)
    day = next(
        START.date() + timedelta(days=n)
        for n in range(120)
        if community.incident_on(START.date() + timedelta(days=n)) is not None
    )
    incident = community.incident_on(day)
    assert incident is not None
    during = community.events_between(
        incident.start, incident.start + timedelta(hours=incident.hours)
    )
    outage = sum(1 for _, e in during if e.category == "outage")
    assert outage > len(during) * 0.4


def test_generate_events_is_fast_and_reproducible():
    events = generate_events(2000, seed=1, start=START)
    assert len(events) == 2000
    assert [e.id for _, e in events] == [
        e.id for _, e in generate_events(2000, seed=1, start=START)
    ]
    assert {key for key, _ in events} == {spec.key for spec in CHANNELS}


def test_the_brand_publishes_in_the_day_and_several_posts_share_an_hour():
    community = Community(seed=42)
    hours: Counter[int] = Counter()
    for spec in CHANNELS:
        if not spec.post_every_hours:
            continue
        for slot in range(2000, 2080):
            hours[community.post(spec, slot).published_at.astimezone(PARIS).hour] += 1
    assert set(hours) <= set(range(8, 21))
    assert sum(1 for n in hours.values() if n >= 2) >= 8
