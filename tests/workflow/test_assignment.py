"""Automatic assignment: who gets what on arrival, the FIFO backlog and its hand-out, availability."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.inbox.actions import do_assign_team, do_change_status, do_receive, do_reply
from cercle.inbox.choices import Status
from cercle.inbox.models import Conversation
from cercle.pipeline.actions import do_create_channel
from cercle.workflow.actions import (
    do_hand_out,
    do_save_channel_routing,
    do_save_routing_settings,
)
from cercle.workflow.queries import hand_out_due
from cercle.workspaces.actions import (
    do_add_member,
    do_change_profile,
    do_create_team,
    do_create_user,
    do_create_workspace,
    do_deactivate_member,
    do_set_member_capacity,
)
from cercle.workspaces.choices import AutomationKind, Availability, Role, Verb
from cercle.workspaces.models import Activity, Member
from tests.conftest import sim_body, sim_event

FRENCH = "Bonjour, ma commande n'est jamais arrivée, pouvez-vous m'aider s'il vous plaît ?"
ENGLISH = "Hello, my order never arrived, could you please help me with it?"
GERMAN = "Hallo, meine Bestellung ist nie angekommen, können Sie mir bitte helfen?"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def arrive(channel, n, *, text=FRENCH, minute=None, **extra):
    """A new conversation by author `n`, written `minute` minutes after START (default: n)."""
    when = START + timedelta(minutes=n if minute is None else minute)
    receive(
        channel,
        sim_event(
            f"c{n}",
            text=text,
            author={"id": f"u{n}", "name": f"Author {n}"},
            created_at=when.isoformat(),
            **extra,
        ),
    )
    return Conversation.objects.get(channel=channel, contact__display_name=f"Author {n}")


def member(
    workspace, username, *, languages=("fr",), skills=(), availability="online", role=Role.AGENT
):
    user = do_create_user(username, "correct horse battery", first_name=username.title())
    m = do_add_member(workspace, user, role)
    return do_change_profile(
        m,
        display_name="",
        languages=list(languages),
        skills=list(skills),
        availability=availability,
        notifications={},
    )


def set_availability(m, availability):
    return do_change_profile(
        m,
        display_name=m.display_name,
        languages=m.languages,
        skills=m.skills,
        availability=availability,
        notifications={},
    )


def owners_of(*conversations):
    """The username of each conversation's assignee ("" when unassigned), re-read from the database."""
    names = []
    for c in conversations:
        c.refresh_from_db()
        names.append(c.assignee.user.username if c.assignee else "")
    return names


@pytest.fixture
def routing(owner, workspace):
    """Automatic assignment on, 10 per member; the owner is away (takes nothing) unless a test says."""
    set_availability(owner, Availability.AWAY)
    return do_save_routing_settings(
        owner,
        workspace,
        auto_assign=True,
        default_capacity=10,
        off_grace_minutes=15,
        kind_skills={},
    )


# --- on arrival ------------------------------------------------------------------------------


def test_round_robin_gives_each_online_member_one_in_turn(routing, workspace, sim_channel):
    _ana, _ben, _cleo = (member(workspace, n) for n in ("ana", "ben", "cleo"))
    first = [arrive(sim_channel, n) for n in range(1, 5)]
    assert owners_of(*first) == ["ana", "ben", "cleo", "ana"]
    # The turn goes on across batches: ben and cleo were assigned less recently than ana.
    later = [arrive(sim_channel, n) for n in range(5, 7)]
    assert owners_of(*later) == ["ben", "cleo"]


def test_one_batch_of_several_conversations_is_dealt_in_turn(routing, workspace, sim_channel):
    member(workspace, "ana")
    member(workspace, "ben")
    receive(
        sim_channel,
        *(
            sim_event(
                f"c{n}",
                text=FRENCH,
                author={"id": f"u{n}", "name": f"Author {n}"},
                created_at=(START + timedelta(minutes=n)).isoformat(),
            )
            for n in range(1, 6)
        ),
    )
    conversations = list(Conversation.objects.order_by("waiting_since"))
    assert owners_of(*conversations) == ["ana", "ben", "ana", "ben", "ana"]


def test_capacity_is_respected_and_the_rest_waits_in_the_backlog(
    routing, owner, workspace, sim_channel
):
    do_save_routing_settings(
        owner, workspace, auto_assign=True, default_capacity=2, off_grace_minutes=15, kind_skills={}
    )
    ana, _ben = member(workspace, "ana"), member(workspace, "ben")
    do_set_member_capacity(owner, ana, 1)
    conversations = [arrive(sim_channel, n) for n in range(1, 6)]
    assert owners_of(*conversations) == ["ana", "ben", "ben", "", ""]


def test_language_is_matched(routing, workspace, sim_channel):
    member(workspace, "fanny", languages=["fr"])
    member(workspace, "emma", languages=["en"])
    member(workspace, "dieter", languages=["de", "en"])
    german = arrive(sim_channel, 1, text=GERMAN)
    english = arrive(sim_channel, 2, text=ENGLISH)
    english_again = arrive(sim_channel, 3, text=ENGLISH)
    french = arrive(sim_channel, 4, text=FRENCH)
    assert [c.language for c in (german, english, french)] == ["de", "en", "fr"]
    # dieter took the German one, so emma (never assigned) comes before him for English.
    assert owners_of(german, english, english_again, french) == [
        "dieter",
        "emma",
        "dieter",
        "fanny",
    ]


def test_skills_needed_by_the_kind_and_the_channel_are_matched(
    routing, owner, workspace, sim_channel
):
    do_save_routing_settings(
        owner,
        workspace,
        auto_assign=True,
        default_capacity=10,
        off_grace_minutes=15,
        kind_skills={"review": ["Reviews"]},
    )
    member(workspace, "ana", skills=["billing"])
    member(workspace, "rob", skills=["reviews", "billing"])
    review = arrive(sim_channel, 1, type="review", rating=2)
    thread = arrive(sim_channel, 2)
    assert owners_of(review, thread) == ["rob", "ana"]
    # A channel that needs "shipping": nobody has it, the conversation waits.
    do_save_channel_routing(
        owner, sim_channel, auto_assign=None, skills=["shipping"], member_ids=[]
    )
    assert owners_of(arrive(sim_channel, 3)) == [""]


def test_a_channel_may_name_who_works_it_and_turn_assignment_off(
    routing, owner, workspace, sim_channel
):
    member(workspace, "ana")
    ben = member(workspace, "ben")
    do_save_channel_routing(owner, sim_channel, auto_assign=None, skills=[], member_ids=[ben.pk])
    assert owners_of(arrive(sim_channel, 1), arrive(sim_channel, 2)) == ["ben", "ben"]
    do_save_channel_routing(owner, sim_channel, auto_assign=False, skills=[], member_ids=[])
    assert owners_of(arrive(sim_channel, 3)) == [""]


def test_assignment_is_off_by_default(owner, workspace, sim_channel):
    member(workspace, "ana")
    assert owners_of(arrive(sim_channel, 1)) == [""]


def test_the_activity_names_the_routing_automation(routing, workspace, sim_channel):
    ana = member(workspace, "ana")
    conversation = arrive(sim_channel, 1)
    assigned = Activity.objects.get(conversation=conversation, verb=Verb.ASSIGNED)
    assert (assigned.automation, assigned.actor_id, assigned.data["assignee_id"]) == (
        AutomationKind.ROUTING,
        None,
        ana.pk,
    )
    assert conversation.status == Status.OPEN


def test_away_and_viewers_get_nothing(routing, workspace, sim_channel):
    member(workspace, "ana", availability=Availability.AWAY)
    member(workspace, "otto", availability=Availability.OFF)
    member(workspace, "vic", role=Role.VIEWER)
    conversation = arrive(sim_channel, 1)
    assert owners_of(conversation) == [""]
    assert not Activity.objects.filter(verb=Verb.ASSIGNED).exists()


# --- the backlog and the hand-out ------------------------------------------------------------


def test_backlog_goes_out_oldest_first_when_someone_comes_online(routing, workspace, sim_channel):
    ana = member(workspace, "ana", availability=Availability.AWAY)
    ben = member(workspace, "ben", availability=Availability.AWAY)
    # Arrival order is not waiting order: the oldest waiting goes first.
    newest = arrive(sim_channel, 1, minute=30)
    oldest = arrive(sim_channel, 2, minute=10)
    middle = arrive(sim_channel, 3, minute=20)
    assert owners_of(newest, oldest, middle) == ["", "", ""]
    assert not hand_out_due(clock.now())  # nobody has room: the scheduler stays quiet

    set_availability(ana, Availability.ONLINE)
    set_availability(ben, Availability.ONLINE)
    assert hand_out_due(clock.now())
    report = do_hand_out()
    assert report.assigned == 3
    assert owners_of(oldest, middle, newest) == ["ana", "ben", "ana"]
    assert not hand_out_due(clock.now())


def test_closing_frees_capacity_for_the_oldest_waiting(routing, owner, workspace, sim_channel):
    do_save_routing_settings(
        owner, workspace, auto_assign=True, default_capacity=1, off_grace_minutes=15, kind_skills={}
    )
    ana, ben = member(workspace, "ana"), member(workspace, "ben")
    first, second, third, fourth = (arrive(sim_channel, n) for n in range(1, 5))
    assert owners_of(first, second, third, fourth) == ["ana", "ben", "", ""]

    do_change_status(ben, second, Status.CLOSED)
    assert hand_out_due(clock.now())
    do_hand_out()
    assert owners_of(third, fourth) == ["ben", ""]

    do_change_status(ana, first, Status.CLOSED)
    do_hand_out()
    assert owners_of(third, fourth) == ["ben", "ana"]


def test_an_arrival_does_not_take_a_place_freed_for_an_older_conversation(
    routing, owner, workspace, sim_channel
):
    do_save_routing_settings(
        owner, workspace, auto_assign=True, default_capacity=1, off_grace_minutes=15, kind_skills={}
    )
    member(workspace, "ana")
    ben = member(workspace, "ben")
    first, second, third = (arrive(sim_channel, n) for n in range(1, 4))
    assert owners_of(first, second, third) == ["ana", "ben", ""]
    do_change_status(ben, second, Status.CLOSED)
    # Before any hand-out runs, a new conversation arrives: the older one gets ben's place.
    fourth = arrive(sim_channel, 4)
    assert owners_of(third, fourth) == ["ben", ""]
    reasons = Activity.objects.filter(conversation=third, verb=Verb.ASSIGNED).values_list(
        "data__reason", flat=True
    )
    assert list(reasons) == ["backlog"]


def test_a_member_who_joins_takes_from_the_backlog(routing, workspace, sim_channel):
    conversation = arrive(sim_channel, 1)
    assert owners_of(conversation) == [""]
    member(workspace, "nora")
    assert hand_out_due(clock.now())
    do_hand_out()
    assert owners_of(conversation) == ["nora"]


def test_backlog_hand_out_matches_language_and_skips_what_nobody_can_take(
    routing, workspace, sim_channel
):
    emma = member(workspace, "emma", languages=["en"], availability=Availability.AWAY)
    french = arrive(sim_channel, 1, text=FRENCH)
    english = arrive(sim_channel, 2, text=ENGLISH)
    set_availability(emma, Availability.ONLINE)
    do_hand_out()
    assert owners_of(french, english) == ["", "emma"]


# --- availability and deactivation -------------------------------------------------------------


def test_going_off_hands_back_unanswered_work_after_the_grace_period(
    routing, workspace, sim_channel
):
    ana = member(workspace, "ana")
    waiting = arrive(sim_channel, 1)
    answered = arrive(sim_channel, 2)
    assert owners_of(waiting, answered) == ["ana", "ana"]
    do_reply(ana, answered, "Nous regardons, merci !")
    ben = member(workspace, "ben", availability=Availability.AWAY)

    went_off = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    with clock.at(went_off):
        set_availability(ana, Availability.OFF)
        set_availability(ben, Availability.ONLINE)
    with clock.at(went_off + timedelta(minutes=14)):
        assert not hand_out_due(clock.now())
        assert do_hand_out().handed_back == 0
    assert owners_of(waiting, answered) == ["ana", "ana"]

    with clock.at(went_off + timedelta(minutes=15)):
        assert hand_out_due(clock.now())
        report = do_hand_out()
    assert (report.handed_back, report.assigned) == (1, 1)
    # The unanswered one went back to the team, then to ben; the answered one stays with ana.
    assert owners_of(waiting, answered) == ["ben", "ana"]
    handed_back = Activity.objects.get(conversation=waiting, verb=Verb.UNASSIGNED)
    assert (handed_back.automation, handed_back.data["reason"]) == (AutomationKind.ROUTING, "off")


def test_back_online_within_the_grace_period_keeps_the_work(routing, workspace, sim_channel):
    ana = member(workspace, "ana")
    conversation = arrive(sim_channel, 1)
    went_off = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    with clock.at(went_off):
        set_availability(ana, Availability.OFF)
    with clock.at(went_off + timedelta(minutes=5)):
        set_availability(ana, Availability.ONLINE)
    with clock.at(went_off + timedelta(hours=2)):
        assert do_hand_out().handed_back == 0
    assert owners_of(conversation) == ["ana"]


def test_deactivating_a_member_hands_their_work_out_again(routing, owner, workspace, sim_channel):
    ana, _ben, _cleo = (member(workspace, n) for n in ("ana", "ben", "cleo"))
    conversations = [arrive(sim_channel, n) for n in range(1, 7)]
    assert owners_of(*conversations) == ["ana", "ben", "cleo", "ana", "ben", "cleo"]
    do_deactivate_member(owner, ana)
    assert owners_of(*conversations) == ["", "ben", "cleo", "", "ben", "cleo"]
    assert hand_out_due(clock.now())
    report = do_hand_out()
    # Oldest first, in turn: ben was assigned less recently than cleo.
    assert report.assigned == 2
    assert owners_of(*conversations) == ["ben", "ben", "cleo", "cleo", "ben", "cleo"]
    assert Member.objects.get(pk=ana.pk).assigned_conversations.count() == 0


# --- isolation and permissions -------------------------------------------------------------------


def test_another_workspace_is_neither_given_work_nor_used(routing, owner, workspace, sim_channel):
    other = do_create_workspace("Other")
    outsider = member(other, "olga")
    other_channel = do_create_channel(
        other,
        "simulator",
        "Other forum",
        external_id="forum-2",
        config={"api_base": "http://simulator.test/api"},
        credentials={"webhook_secret": "s3cret", "access_token": "tok"},
    )
    ours = arrive(sim_channel, 1)
    theirs = arrive(other_channel, 2)
    assert owners_of(ours, theirs) == ["", ""]  # nobody here is online; routing is off there
    do_hand_out()
    assert owners_of(ours, theirs) == ["", ""]
    with pytest.raises(PermissionDenied):
        do_save_channel_routing(
            owner, sim_channel, auto_assign=True, skills=[], member_ids=[outsider.pk]
        )
    with pytest.raises(PermissionDenied):
        do_save_routing_settings(
            owner, other, auto_assign=True, default_capacity=5, off_grace_minutes=5, kind_skills={}
        )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT])
def test_only_managers_and_above_change_routing(workspace, role):
    someone = member(workspace, "someone", role=role)
    with pytest.raises(PermissionDenied):
        do_save_routing_settings(
            someone,
            workspace,
            auto_assign=True,
            default_capacity=5,
            off_grace_minutes=5,
            kind_skills={},
        )


def test_a_member_sets_their_own_capacity_but_not_someone_elses(workspace):
    ana, ben = member(workspace, "ana"), member(workspace, "ben")
    assert do_set_member_capacity(ana, ana, 3).capacity == 3
    with pytest.raises(PermissionDenied):
        do_set_member_capacity(ana, ben, 3)


# --- teams ---------------------------------------------------------------------------------------


def test_a_conversation_given_to_a_team_goes_to_its_members_only(
    routing, owner, workspace, sim_channel
):
    _ana, ben, cleo = (member(workspace, n) for n in ("ana", "ben", "cleo"))
    billing = do_create_team(owner, workspace, "Billing", [ben.pk, cleo.pk])
    first, second = arrive(sim_channel, 1), arrive(sim_channel, 2)
    assert owners_of(first, second) == ["ana", "ben"]

    do_assign_team(owner, first, billing)  # ana is not in Billing: it goes back to the team
    do_assign_team(owner, second, billing)  # ben is: he keeps it
    assert owners_of(first, second) == ["", "ben"]
    assert hand_out_due(clock.now())
    do_hand_out()
    # cleo was never assigned: she comes before ben; ana (not in the team) is never asked.
    assert owners_of(first, second) == ["cleo", "ben"]
    first.refresh_from_db()
    assert first.team_id == billing.pk


def test_a_team_of_another_workspace_is_refused(routing, workspace, sim_channel):
    other = do_create_workspace("Other")
    their_owner = member(other, "olga", role=Role.OWNER)
    theirs = do_create_team(their_owner, other, "Theirs", [])
    conversation = arrive(sim_channel, 1)
    with pytest.raises(PermissionDenied):
        do_assign_team(their_owner, conversation, theirs)
    ours = member(workspace, "ana")
    with pytest.raises(PermissionDenied):
        do_assign_team(ours, conversation, theirs)


# --- the scheduler ---------------------------------------------------------------------------------


def test_the_scheduler_enqueues_the_hand_out_only_when_someone_has_room(
    routing, workspace, sim_channel, monkeypatch
):
    from django_tasks_db.models import DBTaskResult

    from cercle.pipeline import worker
    from cercle.workflow.tasks import hand_out

    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    pending = DBTaskResult.objects.ready().filter(task_path=hand_out.module_path)
    ana = member(workspace, "ana", availability=Availability.AWAY)
    conversation = arrive(sim_channel, 1)
    worker.schedule_once(0.0)
    assert pending.count() == 0  # a backlog, but nobody online
    set_availability(ana, Availability.ONLINE)
    worker.schedule_once(0.0)
    assert pending.count() == 1
    # The task runs the drain: the backlog goes to ana.
    assert hand_out.call() == 1
    assert owners_of(conversation) == ["ana"]


def test_the_timeline_says_who_routing_gave_it_to_and_why_it_came_back(
    routing, workspace, sim_channel
):
    from cercle.inbox.templatetags.inbox_tags import activity_line

    ana = member(workspace, "ana")
    ana.display_name = "<b>Ana</b>"
    ana.save(update_fields=["display_name"])
    conversation = arrive(sim_channel, 1)
    went_off = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    with clock.at(went_off):
        set_availability(ana, Availability.OFF)
    with clock.at(went_off + timedelta(hours=1)):
        do_hand_out()
    lines = [
        str(activity_line(a))
        for a in Activity.objects.filter(
            conversation=conversation, verb__in=[Verb.ASSIGNED, Verb.UNASSIGNED]
        ).order_by("id")
    ]
    assert lines == [
        "Assigned to &lt;b&gt;Ana&lt;/b&gt; automatically",
        "Unassigned: &lt;b&gt;Ana&lt;/b&gt; is off",
    ]
