"""Trending terms against their own baseline, spikes of volume and negative share, drill-downs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cercle.core import clock
from cercle.insights.trends import (
    fold,
    hourly_spikes,
    messages_with,
    phrases,
    spikes,
    trending_terms,
)
from cercle.moderation import crisis
from cercle.moderation.actions import do_aggregate_pulses
from tests.insights.test_metrics import receive_at

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def test_terms_fold_accents_and_leave_stop_words_of_both_languages_out():
    found = phrases("Le colis n'est PAS arrivé, the parcel has not arrived: été 2026 !")
    assert fold("Été") == "ete"
    assert {"colis", "arrive", "parcel", "arrived"} <= set(found)
    assert not {"le", "pas", "the", "has", "not", "est", "2026"} & set(found)
    # Two words following each other once stop words are out make a phrase, within a clause.
    assert found["colis"] == "colis" and found["colis arrive"] == "colis arrivé"
    assert "parcel arrived" in found and "arrive parcel" not in found  # a comma between
    assert phrases("RÉDUCTION") == {"reduction": "réduction"} and "reduction" in phrases(
        "Reduction"
    )


@pytest.fixture
def chatter(workspace, sim_channel):
    """A quiet month about opening hours, then a week about a late parcel (accents vary)."""
    for day in range(95, 50, -5):  # long before: other subjects (the 30 days' baseline)
        receive_at(sim_channel, f"older{day}", NOW - timedelta(days=day), f"x{day}", "Bonjour")
    for day in range(30, 8, -2):
        receive_at(
            sim_channel, f"old{day}", NOW - timedelta(days=day), f"o{day}", "Horaires du magasin ?"
        )
    texts = [
        "Mon colis est en retard depuis lundi",
        "Colis en retard, aucune nouvelle",
        "Encore un COLIS EN RETARD !",
        "Le colis en rétard ? Quelle honte",
        "Horaires du magasin ?",
    ]
    conversations = [
        receive_at(sim_channel, f"new{i}", NOW - timedelta(days=1, hours=i), f"n{i}", text)
        for i, text in enumerate(texts)
    ]
    return conversations


def test_a_term_rising_against_its_baseline_comes_first_and_drills_down(workspace, chatter):
    trends = trending_terms(workspace, NOW)
    top = [t.term for t in trends.terms[:3]]
    assert "colis retard" in top and "horaires" not in [t.term for t in trends.terms]
    phrase = next(t for t in trends.terms if t.term == "colis retard")
    assert (phrase.count, phrase.baseline, phrase.label) == (4, 0, "colis retard")
    ids = messages_with(workspace, "colis retard", NOW)
    assert set(ids) == {c.pk for c in chatter[:4]}


def test_a_day_of_many_messages_is_a_volume_spike(workspace, sim_channel, monkeypatch):
    for day in range(20, 1, -1):
        receive_at(sim_channel, f"q{day}", NOW - timedelta(days=day), f"q{day}", "Bonjour")
    for n in range(14):
        receive_at(
            sim_channel, f"s{n}", NOW - timedelta(hours=20, minutes=n), f"s{n}", "Ça ne marche plus"
        )
    monkeypatch.setattr(crisis, "CLASSIFY_GRACE", timedelta(0))  # counted before being labelled
    with clock.at(NOW):
        while do_aggregate_pulses():
            pass
    today = NOW.astimezone(PARIS).date()
    found = spikes(workspace, today - timedelta(days=29), today + timedelta(days=1), PARIS)
    assert [(s.day, s.signal, s.observed) for s in found] == [
        ((NOW - timedelta(hours=20)).astimezone(PARIS).date(), "volume", 14)
    ]


def test_the_trends_page_lists_terms_and_links_them(client, owner, workspace, chatter):
    client.force_login(owner.user)
    with clock.at(NOW):
        page = client.get("/insights/trends/")
        drill = client.get("/insights/trends/term/", {"term": "colis retard"})
    assert page.status_code == 200 and b"colis" in page.content
    assert b"/insights/trends/term/?term=colis%20retard" in page.content
    assert drill.status_code == 200 and drill.context["count"] == 4


def test_a_phrase_of_one_word_repeated_is_left_out():
    found = phrases("Lumen lumen LUMEN, la lampe lampe")
    assert "lumen lumen" not in found and "lampe lampe" not in found
    assert "lumen" in found and "lampe" in found


def test_without_history_before_nothing_is_rising(workspace, sim_channel):
    for n in range(5):
        receive_at(sim_channel, f"n{n}", NOW - timedelta(days=1, hours=n), f"n{n}", "Colis perdu")
    trends = trending_terms(workspace, NOW)
    assert trends.baseline_messages == 0 and trends.terms == []


def test_the_terms_follow_the_chosen_period(workspace, chatter):
    # Over 30 days the parcel is still rising (against the 120 days before, when other things
    # were said), and so are the opening hours; over 7 days the hours were said as before.
    month = trending_terms(workspace, NOW, days=30)
    week = trending_terms(workspace, NOW)
    assert "horaires" in [t.term for t in month.terms]
    assert "horaires" not in [t.term for t in week.terms]
    assert month.window_start == NOW - timedelta(days=30)
    assert month.window_messages == 16 and week.window_messages == 5
    # The drill-down reads the same window.
    assert len(messages_with(workspace, "horaires", NOW, 30)) == 12
    assert len(messages_with(workspace, "horaires", NOW)) == 1


def test_an_hour_of_many_messages_is_an_hour_spike_with_its_conversations(
    client, owner, workspace, sim_channel, monkeypatch
):
    # Every day at 13:00 in Paris one message; one evening, 14 within a quarter of an hour.
    for day in range(20, 1, -1):
        receive_at(sim_channel, f"q{day}", NOW - timedelta(days=day), f"q{day}", "Bonjour")
    burst = NOW - timedelta(hours=20)
    for n in range(14):
        receive_at(sim_channel, f"s{n}", burst + timedelta(minutes=n), f"s{n}", "Panne ?")
    monkeypatch.setattr(crisis, "CLASSIFY_GRACE", timedelta(0))
    with clock.at(NOW):
        while do_aggregate_pulses():
            pass
    today = NOW.astimezone(PARIS).date()
    local = burst.astimezone(PARIS)
    found = hourly_spikes(workspace, today - timedelta(days=29), today + timedelta(days=1), PARIS)
    assert [(s.day, s.hour, s.signal, s.observed) for s in found] == [
        (local.date(), local.hour, "volume", 14)
    ]
    # The daily message's hour (13:00) is as usual: no spike there.
    client.force_login(owner.user)
    with clock.at(NOW):
        page = client.get("/insights/trends/")
        drill = client.get(
            f"/insights/trends/day/{local.date().isoformat()}/", {"hour": local.hour}
        )
        bad = client.get(f"/insights/trends/day/{local.date().isoformat()}/", {"hour": "25"})
    assert f"?hour={local.hour}".encode() in page.content
    assert drill.status_code == 200 and drill.context["count"] == 14
    assert bad.status_code == 404
