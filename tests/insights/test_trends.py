"""Trending terms against their own baseline, spikes of volume and negative share, drill-downs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cercle.core import clock
from cercle.inbox.models import Message
from cercle.insights import trends as trends_module
from cercle.insights.actions import _recount_terms, do_roll_up
from cercle.insights.models import TermRollup
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
    # The window is the last 30 local days, today so far included, as the dashboard's.
    assert month.window_start == datetime(2026, 11, 1, tzinfo=PARIS)
    assert month.window_messages == 15 and week.window_messages == 5
    # The drill-down reads the same window.
    assert len(messages_with(workspace, "horaires", NOW, 30)) == 11
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


# --- every message counts (the per-day term rollup) ----------------------------------------------


def copies(conversation, texts_at, language=""):  # type: ignore[no-untyped-def]
    """Store inbound messages in `conversation` at once (a history too large for the pipeline
    in a test): (text, when) pairs."""
    model = Message.objects.filter(conversation=conversation).first()
    Message.objects.bulk_create(
        Message(
            workspace_id=model.workspace_id,
            channel_id=model.channel_id,
            conversation=conversation,
            external_id=f"bulk-{conversation.pk}-{n}",
            direction=model.direction,
            text=text,
            language=language,
            sent_at=when,
        )
        for n, (text, when) in enumerate(texts_at)
    )


def settle(now):  # type: ignore[no-untyped-def]
    with clock.at(now):
        for _ in range(100):
            if not do_roll_up().worked:
                return
    raise AssertionError("the drain did not settle")


@pytest.fixture
def buried(workspace, sim_channel):
    """A term rising five days ago, under 6,000 newer messages of the window (the former
    sample read the newest 5,000 only), in French and English, against a baseline of the same
    chatter (3,000 messages)."""
    chat = receive_at(sim_channel, "chat", NOW - timedelta(days=30), "chat", "Horaires du magasin")
    copies(
        chat,
        [
            ("Horaires du magasin" if n % 2 else "Opening hours please", when)
            for n in range(9000)
            for when in [
                NOW - timedelta(days=25, minutes=n)
                if n < 3000
                else NOW - timedelta(hours=20, seconds=n)
            ]
        ],
    )
    rising = [
        receive_at(
            sim_channel,
            f"r{n}",
            NOW - timedelta(days=5, minutes=n),
            f"r{n}",
            "Rupture de stock des lampes" if n % 2 else "The lamps are OUT of stock again",
        )
        for n in range(6)
    ]
    Message.objects.filter(conversation__in=rising[1::2]).update(language="fr")
    Message.objects.filter(conversation__in=rising[0::2]).update(language="en")
    return rising


def test_a_term_rising_under_the_newest_messages_is_found_from_every_message(workspace, buried):
    raw = trending_terms(workspace, NOW, use_rollups=False)
    settle(NOW)
    rolled = trending_terms(workspace, NOW)
    assert raw == rolled
    assert rolled.window_messages == 6006 and rolled.baseline_messages == 3001
    terms = {t.term: t for t in rolled.terms}
    # French and English, each with its own words.
    assert {"rupture stock", "lampes", "lamps", "stock"} <= set(terms)
    assert (terms["rupture stock"].count, terms["rupture stock"].baseline) == (3, 0)
    assert terms["stock"].count == 6
    assert "horaires" not in terms  # as frequent as before
    # The rollups keep both languages, and no stop word.
    days = TermRollup.objects.filter(workspace=workspace, term="stock")
    assert {row.language for row in days} == {"fr", "en"}
    stored = set(TermRollup.objects.filter(workspace=workspace).values_list("term", flat=True))
    assert not {"de", "des", "the", "are", "du"} & stored
    # The drill-down still lists the conversations behind it.
    assert set(messages_with(workspace, "stock", NOW)) == {c.pk for c in buried}
    assert set(messages_with(workspace, "rupture stock", NOW)) == {c.pk for c in buried[1::2]}


def test_the_term_rollup_follows_new_messages_and_keeps_its_days_bounded(
    workspace, sim_channel, buried, monkeypatch
):
    settle(NOW)
    receive_at(sim_channel, "late", NOW - timedelta(days=4), "late", "Rupture de stock encore")
    settle(NOW)
    assert trending_terms(workspace, NOW) == trending_terms(workspace, NOW, use_rollups=False)
    terms = {t.term: t for t in trending_terms(workspace, NOW).terms}
    assert terms["rupture stock"].count == 4
    # A day keeps only its most frequent terms (here 2 of them) and its message count.
    monkeypatch.setattr(trends_module, "TERMS_PER_DAY", 2)
    day = (NOW - timedelta(days=5)).astimezone(PARIS).date()
    _recount_terms(workspace, PARIS, day, day + timedelta(days=1))
    rows = TermRollup.objects.filter(workspace=workspace, day=day)
    assert sorted(rows.filter(term="").values_list("language", "count")) == [("en", 3), ("fr", 3)]
    for language in ("fr", "en"):
        assert rows.filter(language=language).exclude(term="").count() == 2
    assert set(rows.filter(language="fr").values_list("term", flat=True)) == {
        "",
        "lampes",
        "rupture",
    }


def test_hostile_text_in_a_rising_term_is_inert(client, owner, workspace, sim_channel):
    receive_at(sim_channel, "b0", NOW - timedelta(days=60), "b0", "Bonjour")
    for n in range(4):
        receive_at(
            sim_channel,
            f"h{n}",
            NOW - timedelta(days=1, minutes=n),
            f"h{n}",
            '<img src=x onerror="alert(1)"> <script>steal()</script>',
        )
    settle(NOW)
    client.force_login(owner.user)
    with clock.at(NOW):
        page = client.get("/insights/trends/")
        drill = client.get("/insights/trends/term/", {"term": "<script>onerror"})
    assert page.status_code == 200 and b"onerror" in page.content
    assert b"<script>steal" not in page.content and b"<img src=x" not in page.content
    assert drill.status_code == 200 and drill.context["count"] == 0
