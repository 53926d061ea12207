"""Personas: each condition as a queryset filter on a crafted community, the pages, isolation."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_receive, do_reply, do_tag_conversation
from cercle.inbox.models import Contact, Conversation, Message
from cercle.insights.actions import do_delete_persona, do_save_persona
from cercle.insights.models import Persona
from cercle.insights.personas import clean_conditions, matching_contacts
from cercle.insights.suggest import suggest_personas
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
HOSTILE = "<img src=x onerror=alert(1)>"


def receive(channel, event_id, when, author, post="p1"):
    event = sim_event(
        event_id,
        text="Bonjour",
        author={"id": author, "name": f"Person {author}"},
        post={"id": post, "text": "Post", "url": f"https://example.com/{post}"},
    )
    event["created_at"] = when.isoformat()
    with clock.at(when):
        do_receive(channel, connector_for(channel).parse(RawEventData(body=sim_body(event))))


def contact(author):
    return Contact.objects.get(identities__external_id=author)


@pytest.fixture
def community(owner, workspace, sim_channel):
    """ua: 3 messages this week on two posts (two conversations), one negative, French, tagged vip.
    ub: 1 message 40 days ago, in English, neutral. uc: 2 messages this week in German, negative."""
    for i in range(3):
        receive(sim_channel, f"a{i}", NOW - timedelta(days=i + 1), "ua", post=f"p{i % 2}")
    receive(sim_channel, "b0", NOW - timedelta(days=40), "ub")
    receive(sim_channel, "c0", NOW - timedelta(days=2), "uc")
    receive(sim_channel, "c1", NOW - timedelta(days=1), "uc")
    Contact.objects.update(language="")
    Contact.objects.filter(pk=contact("ua").pk).update(language="fr")
    for author, language in (("ua", ""), ("ub", "en"), ("uc", "de")):
        Message.objects.filter(conversation__contact=contact(author)).update(language=language)
        Conversation.objects.filter(contact=contact(author)).update(language=language)
    Message.objects.filter(conversation__contact__in=[contact("ua"), contact("ub")]).update(
        sentiment="neutral"
    )
    Message.objects.filter(external_id="a0").update(sentiment="negative")
    Message.objects.filter(conversation__contact=contact("uc")).update(sentiment="negative")
    tagged = Conversation.objects.filter(contact=contact("ua")).first()
    do_tag_conversation(owner, tagged, "vip")
    return workspace


def names(workspace, conditions):
    found = matching_contacts(workspace, clean_conditions(conditions), NOW)
    return sorted(c.identities.get().external_id for c in found)


def test_each_condition_is_a_filter(community):
    assert names(community, []) == ["ua", "ub", "uc"]
    assert names(community, [{"kind": "language", "values": ["fr"]}]) == ["ua"]
    assert names(community, [{"kind": "language", "values": ["en"]}]) == ["ub"]
    assert names(community, [{"kind": "platform", "values": ["simulator"]}]) == ["ua", "ub", "uc"]
    assert names(community, [{"kind": "platform", "values": ["instagram"]}]) == []
    assert names(community, [{"kind": "tag", "values": ["vip"]}]) == ["ua"]
    assert names(community, [{"kind": "activity", "days": 7, "min": 2}]) == ["ua", "uc"]
    assert names(community, [{"kind": "activity", "days": 7, "min": 3}]) == ["ua"]
    assert names(community, [{"kind": "activity", "days": 60, "min": 1}]) == ["ua", "ub", "uc"]
    # ua: 1 of 3 negative (33 %); uc: 2 of 2; ub: 0 of 1.
    assert names(community, [{"kind": "negative", "percent": 30}]) == ["ua", "uc"]
    assert names(community, [{"kind": "negative", "percent": 50}]) == ["uc"]
    assert names(community, [{"kind": "returning", "value": True}]) == ["ua"]
    assert names(community, [{"kind": "returning", "value": False}]) == ["ub", "uc"]


def test_topics_find_who_wrote_about_them_accents_and_case_ignored(community, workspace):
    Message.objects.filter(external_id="a1").update(text="Ma livraison Volt Cargo est en retard")
    Message.objects.filter(external_id="b0").update(text="Refund please, the VOLT arrived broken")
    Message.objects.filter(external_id="c0").update(text="Remboursement refusé, c'est honteux")
    assert names(community, [{"kind": "topic", "values": ["volt cargo"]}]) == ["ua"]
    assert names(community, [{"kind": "topic", "values": ["volt"]}]) == ["ua", "ub"]
    # Any of the topics; a prefix and no accent find "Remboursement refusé".
    assert names(community, [{"kind": "topic", "values": ["rembours", "refuse"]}]) == ["uc"]
    assert names(community, [{"kind": "topic", "values": ["livraison", "refund"]}]) == [
        "ua",
        "ub",
    ]
    # Words of a phrase must all be there; punctuation alone finds nobody.
    assert names(community, [{"kind": "topic", "values": ["volt retard"]}]) == ["ua"]
    assert names(community, [{"kind": "topic", "values": ["cargo broken"]}]) == []
    assert names(community, [{"kind": "topic", "values": ["*"]}]) == []
    # The team's own replies are not what the contact writes about.
    conversation = Conversation.objects.filter(contact=contact("ub")).get()
    do_reply(workspace.members.get(role="owner"), conversation, "Votre livraison part demain")
    assert names(community, [{"kind": "topic", "values": ["demain"]}]) == []


def test_followers_where_the_platform_gives_them(community):
    from cercle.inbox.models import Identity

    Identity.objects.filter(external_id="ua").update(followers=12_000)
    Identity.objects.filter(external_id="ub").update(followers=40)
    # uc's count is unknown: it never matches.
    assert names(community, [{"kind": "followers", "min": 1000}]) == ["ua"]
    assert names(community, [{"kind": "followers", "min": 40}]) == ["ua", "ub"]
    assert names(community, [{"kind": "followers", "min": 1}]) == ["ua", "ub"]
    with pytest.raises(ValidationError):
        clean_conditions([{"kind": "followers", "min": 0}])


def test_conditions_all_hold_together(community):
    conditions = [
        {"kind": "activity", "days": 7, "min": 2},
        {"kind": "negative", "percent": 30},
        {"kind": "returning", "value": False},
    ]
    assert names(community, conditions) == ["uc"]


def test_the_evaluation_is_one_query(community, django_assert_num_queries):
    conditions = clean_conditions(
        [
            {"kind": "activity", "days": 7, "min": 1},
            {"kind": "negative", "percent": 10},
            {"kind": "tag", "values": ["vip"]},
            {"kind": "language", "values": ["fr"]},
            {"kind": "returning", "value": True},
            {"kind": "topic", "values": ["bonjour", "merci"]},
        ]
    )
    with django_assert_num_queries(1):
        assert matching_contacts(community, conditions, NOW).count() == 1


def test_invalid_conditions_are_refused():
    for bad in (
        {"kind": "activity", "days": 0, "min": 1},
        {"kind": "negative", "percent": 120},
        {"kind": "language", "values": []},
        {"kind": "followers"},
        "language",
        # Huge or non-finite numbers (JSON allows 1e400): refused, never a 500.
        {"kind": "activity", "days": float("inf"), "min": 1},
        {"kind": "activity", "days": 30, "min": 10**30},
        {"kind": "negative", "percent": float("nan")},
    ):
        with pytest.raises(ValidationError):
            clean_conditions([bad])


def test_saving_is_for_managers_and_logged(owner, agent, workspace):
    persona = do_save_persona(
        owner,
        workspace,
        name="Fans",
        description="Ils aiment la marque.",
        conditions=[{"kind": "returning", "value": True}],
    )
    with pytest.raises(PermissionDenied):
        do_save_persona(agent, workspace, name="x", description="", conditions=[])
    with pytest.raises(PermissionDenied):
        do_delete_persona(agent, persona)
    do_delete_persona(owner, persona)
    logged = list(
        Activity.objects.filter(workspace=workspace, verb="workspace_changed").values_list(
            "data__setting", flat=True
        )
    )
    assert logged[-2:] == ["persona", "persona_deleted"] and not Persona.objects.exists()


# --- the pages ---------------------------------------------------------------------------


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def test_the_pages_show_size_metrics_and_heatmap(lea, owner, community):
    ua = Conversation.objects.filter(contact=contact("ua")).order_by("id").first()
    do_reply(owner, ua, "Merci !")
    persona = do_save_persona(
        owner,
        community,
        name=HOSTILE,
        description=HOSTILE,
        conditions=[{"kind": "activity", "days": 7, "min": 2}],
    )
    with clock.at(NOW):
        listing = lea.get(reverse("insights:personas")).content.decode()
    assert "&lt;img src=x" in listing and HOSTILE not in listing
    assert "<td>2</td>" in listing
    with clock.at(NOW):
        page = lea.get(reverse("insights:persona", args=[persona.pk]) + "?days=7").content.decode()
    assert HOSTILE not in page and 'persona-size">2<' in page
    assert "Based on 5 inbound items" in page  # ua's 3 and uc's 2 of the week
    # ua's two conversations and uc's one; ua's first answered, none closed unanswered
    assert "1 of 3 waits answered (0 automatically); 0 closed without a reply" in page


def test_a_manager_saves_a_persona_through_the_form(lea, owner, community):
    response = lea.post(
        reverse("insights:persona_new"),
        {
            "name": "Critiques",
            "description": "Mécontents récents",
            "languages": "fr, en",
            "platforms": ["simulator"],
            "active_days": "30",
            "active_min": "2",
            "negative_percent": "30",
            "returning": "",
        },
    )
    persona = Persona.objects.get()
    assert response.status_code == 302 and persona.conditions == [
        {"kind": "language", "values": ["fr", "en"]},
        {"kind": "platform", "values": ["simulator"]},
        {"kind": "activity", "days": 30, "min": 2},
        {"kind": "negative", "percent": 30.0},
    ]
    assert lea.get(reverse("insights:persona_edit", args=[persona.pk])).status_code == 200


def test_a_viewer_reads_personas_but_cannot_save(client, owner, workspace):
    persona = do_save_persona(owner, workspace, name="Fans", description="", conditions=[])
    do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    assert client.login(username="vic", password="correct horse battery")
    assert client.get(reverse("insights:persona", args=[persona.pk])).status_code == 200
    assert client.post(reverse("insights:persona_new"), {"name": "x"}).status_code == 403
    assert client.post(reverse("insights:persona_delete", args=[persona.pk])).status_code == 403


def test_another_workspaces_persona_is_a_404(lea, db):
    other = do_create_workspace("Other")
    boss = do_add_member(other, do_create_user("boss", "correct horse battery"), Role.OWNER)
    theirs = do_save_persona(boss, other, name="Their secret", description="", conditions=[])
    for name in ("insights:persona", "insights:persona_edit"):
        assert lea.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert lea.post(reverse("insights:persona_delete", args=[theirs.pk])).status_code == 404
    assert "Their secret" not in lea.get(reverse("insights:personas")).content.decode()


# --- suggestions ---------------------------------------------------------------------------


@pytest.fixture
def two_behaviours(owner, workspace, sim_channel):
    """Four regulars (5 messages on two posts each, French) and four one-off visitors (1 message)."""
    for person in range(4):
        for i in range(5):
            when = NOW - timedelta(days=i + 1)
            receive(sim_channel, f"r{person}-{i}", when, f"reg{person}", post=f"p{i % 2}")
    for person in range(4):
        receive(sim_channel, f"o{person}", NOW - timedelta(days=3), f"one{person}")
    Contact.objects.update(language="")
    Contact.objects.filter(identities__external_id__startswith="reg").update(language="fr")
    return workspace


def test_suggestions_cluster_contacts_and_describe_each_group(two_behaviours):
    suggestions = suggest_personas(two_behaviours, NOW)
    assert sorted(s.size for s in suggestions) == [4, 4]
    regulars = next(s for s in suggestions if {"kind": "returning", "value": True} in s.conditions)
    assert regulars.conditions == [
        {"kind": "activity", "days": 30, "min": 5},
        {"kind": "returning", "value": True},
        {"kind": "language", "values": ["fr"]},
    ]
    # The conditions find the very contacts of the cluster.
    assert names(two_behaviours, regulars.conditions) == ["reg0", "reg1", "reg2", "reg3"]


def test_a_manager_accepts_a_suggestion(lea, two_behaviours):
    with clock.at(NOW):
        listing = lea.get(reverse("insights:personas")).content.decode()
        response = lea.post(reverse("insights:persona_accept"), {"index": "0"})
    assert "Suggested personas" in listing
    persona = Persona.objects.get()
    assert response.status_code == 302 and persona.conditions
    assert lea.post(reverse("insights:persona_accept"), {"index": "9"}).status_code == 404


def test_a_slow_persona_is_kept_by_the_worker_and_read_while_recent(
    lea, community, owner, workspace, sim_channel, settings, monkeypatch
):
    from cercle.insights import personas as personas_module
    from cercle.insights.models import PersonaMember
    from cercle.insights.personas import KEPT_FOR, persona_contacts
    from cercle.insights.tasks import count_persona_members, personas_due

    active = do_save_persona(
        owner,
        workspace,
        name="Actifs",
        description="",
        conditions=[{"kind": "activity", "days": 7, "min": 2}],
    )
    with clock.at(NOW):
        assert personas_due()
        # Fast here: counted, not kept; the figures evaluate it live.
        assert count_persona_members.call() == 0
        assert not personas_due()
    active.refresh_from_db()
    assert active.members_at == NOW and not active.members_kept
    assert not PersonaMember.objects.exists()

    settings.CERCLE_PERSONA_KEEP_SECONDS = 0  # every persona counts as slow
    with clock.at(NOW + timedelta(minutes=6)):  # KEEP_EVERY has passed
        assert count_persona_members.call() == 1
    active.refresh_from_db()
    assert active.members_kept
    kept = {contact("ua").pk, contact("uc").pk}
    assert set(PersonaMember.objects.values_list("contact_id", flat=True)) == kept

    with clock.at(NOW + timedelta(minutes=7)):
        page = lea.get(reverse("insights:persona", args=[active.pk]) + "?days=7").content.decode()
    assert 'persona-size">2<' in page and "counted at" in page

    # Read from the kept rows while recent: a contact who became active meanwhile is not in
    # them until the next count, and the conditions are not evaluated.
    receive(sim_channel, "b1", NOW + timedelta(minutes=7), "ub")
    receive(sim_channel, "b2", NOW + timedelta(minutes=8), "ub")
    live = personas_module.matching_contacts
    calls = []

    def spy(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return live(*args)

    monkeypatch.setattr(personas_module, "matching_contacts", spy)
    later = NOW + timedelta(minutes=9)
    assert persona_contacts(active, later) == kept and not calls
    # Too old (or asked about another instant): evaluated live.
    assert contact("ub").pk in persona_contacts(active, later + KEPT_FOR) and len(calls) == 1
    # Saving the persona drops what was kept.
    do_save_persona(
        owner,
        workspace,
        name="Actifs",
        description="",
        conditions=active.conditions,
        persona=active,
    )
    active.refresh_from_db()
    assert not active.members_kept and active.members_at is None
    assert not PersonaMember.objects.exists()
