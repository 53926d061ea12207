"""Saved replies, personas and goals through /api/v1/: the UI's actions and permission checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cercle.core import clock
from cercle.inbox.actions import do_assign_conversation, do_tag_conversation
from cercle.inbox.models import Message
from cercle.insights.models import Goal, Persona
from cercle.moderation.actions import do_save_house_rule
from cercle.moderation.models import Rule
from cercle.replies.actions import do_save_approval_policy, do_save_saved_reply
from cercle.replies.models import PendingReply, SavedReply
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.api.conftest import caller_for, conversation_of, put

GREETING = {
    "title": "Greeting",
    "shortcut": "hello",
    "tags": ["welcome"],
    "versions": {
        "fr": "Bonjour {{ contact.first_name }} !",
        "en": "Hello {{ contact.first_name }}!",
    },
}


# --- saved replies ---------------------------------------------------------------------------


def test_saved_reply_create_list_get_update_delete(owner_api, owner):
    created = owner_api.post("/saved-replies", GREETING)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["title"] == "Greeting" and body["shortcut"] == "hello"
    assert body["versions"] == GREETING["versions"] and body["tags"] == ["welcome"]
    pk = body["id"]
    assert Activity.objects.filter(verb=Verb.WORKSPACE_CHANGED, actor=owner).exists()

    assert [r["id"] for r in owner_api.get("/saved-replies").json()] == [pk]
    assert [r["id"] for r in owner_api.get("/saved-replies", q="/hel").json()] == [pk]
    assert owner_api.get("/saved-replies", q="nothing like it").json() == []
    assert owner_api.get(f"/saved-replies/{pk}").json()["title"] == "Greeting"

    changed = put(owner_api, f"/saved-replies/{pk}", {**GREETING, "versions": {"en": "Hi!"}})
    assert changed.status_code == 200 and changed.json()["versions"] == {"en": "Hi!"}

    assert owner_api.delete(f"/saved-replies/{pk}").status_code == 204
    assert not SavedReply.objects.filter(pk=pk).exists()
    assert owner_api.get(f"/saved-replies/{pk}").status_code == 404


def test_saved_reply_refused_by_the_action_is_a_422_with_its_reason(owner_api):
    unknown = owner_api.post(
        "/saved-replies", {**GREETING, "versions": {"fr": "Bonjour {{ contact.password }}"}}
    )
    assert unknown.status_code == 422 and "contact.password" in unknown.json()["detail"]
    assert owner_api.post("/saved-replies", GREETING).status_code == 201
    taken = owner_api.post("/saved-replies", {**GREETING, "title": "Other"})
    assert taken.status_code == 422 and "shortcut" in taken.json()["detail"]
    empty = owner_api.post("/saved-replies", {**GREETING, "shortcut": "", "title": "  "})
    assert empty.status_code == 422


def test_saved_reply_rendered_for_a_conversation(agent_api, owner, workspace, sim_channel):
    saved = do_save_saved_reply(
        owner, workspace, title="Greeting", versions=GREETING["versions"], shortcut="hello"
    )
    conversation = conversation_of(sim_channel, "r1", text="Bonjour, ma lampe clignote")
    rendered = agent_api.get(
        f"/saved-replies/{saved.pk}/render", conversation_id=conversation.pk
    ).json()
    assert rendered["text"] in ("Bonjour Author !", "Hello Author!")
    assert rendered["language"] in ("fr", "en") and rendered["conversation_id"] == conversation.pk


def test_agents_and_viewers_read_saved_replies_but_do_not_write_them(
    agent_api, viewer_api, owner, workspace
):
    saved = do_save_saved_reply(owner, workspace, title="T", versions={"en": "Hi"})
    for caller in (agent_api, viewer_api):
        assert caller.get("/saved-replies").status_code == 200
        assert caller.post("/saved-replies", GREETING).status_code == 403
        assert put(caller, f"/saved-replies/{saved.pk}", GREETING).status_code == 403
        assert caller.delete(f"/saved-replies/{saved.pk}").status_code == 403
    assert SavedReply.objects.get().title == "T"


def test_a_viewer_cannot_render_like_the_picker(viewer_api, owner, workspace, conversation):
    saved = do_save_saved_reply(owner, workspace, title="T", versions={"en": "Hi"})
    response = viewer_api.get(f"/saved-replies/{saved.pk}/render", conversation_id=conversation.pk)
    assert response.status_code == 403


# --- personas --------------------------------------------------------------------------------


def test_persona_create_size_members_update_delete(owner_api, sim_channel):
    fr = conversation_of(sim_channel, "p1", text="Bonjour, ma commande est en retard")
    en = conversation_of(sim_channel, "p2", text="Hello, my order is late")
    created = owner_api.post(
        "/personas",
        {
            "name": "Plateforme simulée",
            "description": "Tous",
            "conditions": [{"kind": "platform", "values": ["simulator"]}],
        },
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["size"] == 2
    listed = owner_api.get("/personas").json()
    assert [(p["id"], p["size"]) for p in listed] == [(pk, 2)]
    members = owner_api.get(f"/personas/{pk}/members", limit=1).json()
    assert len(members["items"]) == 1 and members["next_cursor"]
    rest = owner_api.get(f"/personas/{pk}/members", cursor=members["next_cursor"]).json()
    paged = [c["id"] for c in members["items"] + rest["items"]]
    assert paged == sorted({fr.contact_id, en.contact_id}, reverse=True)
    assert rest["next_cursor"] is None

    changed = put(
        owner_api,
        f"/personas/{pk}",
        {"name": "Nobody", "conditions": [{"kind": "platform", "values": ["x"]}]},
    )
    assert changed.status_code == 200 and changed.json()["size"] == 0
    assert owner_api.get(f"/personas/{pk}/members").json()["items"] == []
    assert owner_api.delete(f"/personas/{pk}").status_code == 204
    assert not Persona.objects.exists()


def test_persona_with_a_bad_condition_is_a_422(owner_api):
    response = owner_api.post(
        "/personas", {"name": "Bad", "conditions": [{"kind": "activity", "days": 0, "min": 1}]}
    )
    assert response.status_code == 422 and not Persona.objects.exists()


def test_persona_writes_need_the_pages_role(agent_api, viewer_api, owner, workspace):
    persona = Persona.objects.create(workspace=workspace, name="All", conditions=[])
    for caller in (agent_api, viewer_api):
        assert caller.get(f"/personas/{persona.pk}").json()["name"] == "All"
        assert caller.post("/personas", {"name": "x"}).status_code == 403
        assert put(caller, f"/personas/{persona.pk}", {"name": "x"}).status_code == 403
        assert caller.delete(f"/personas/{persona.pk}").status_code == 403
    assert Persona.objects.get().name == "All"


# --- goals -----------------------------------------------------------------------------------

GOAL = {
    "name": "Answer fast",
    "kpi": "answered_within",
    "minutes": 60,
    "comparison": "gte",
    "target": 90,
    "period": "month",
}


def test_goal_create_with_live_status_update_delete(owner_api, owner, conversation):
    # The goal counts the current month: it is read on a day of the month the conversation
    # arrived in (sim_event dates it 20 November 2026, 09:30 UTC), 90 minutes later.
    with clock.at(datetime(2026, 11, 20, 11, 0, tzinfo=UTC)):
        _goal_create_with_live_status_update_delete(owner_api, owner)


def _goal_create_with_live_status_update_delete(owner_api, owner):  # type: ignore[no-untyped-def]
    created = owner_api.post("/goals", {**GOAL, "owner_id": owner.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"]["id"] == owner.pk and body["kpi"] == "answered_within"
    assert body["status"] in ("on_track", "at_risk", "no_data")
    assert body["start"] < body["end"]
    pk = body["id"]
    listed = owner_api.get("/goals").json()
    assert [g["id"] for g in listed] == [pk]
    # One conversation waiting, none answered: the share so far is 0 %, at risk.
    assert listed[0]["value"] == 0 and listed[0]["status"] == "at_risk"
    changed = put(owner_api, f"/goals/{pk}", {**GOAL, "target": 0, "name": "Any"})
    assert changed.status_code == 200 and changed.json()["status"] == "on_track"
    assert Goal.objects.get().name == "Any"
    assert owner_api.delete(f"/goals/{pk}").status_code == 204
    assert not Goal.objects.exists()


def test_goal_refused_by_the_model_is_a_422(owner_api):
    response = owner_api.post("/goals", {**GOAL, "minutes": None})
    assert response.status_code == 422 and "minutes" in response.json()["detail"]
    share = owner_api.post("/goals", {**GOAL, "target": 150})
    assert share.status_code == 422
    assert not Goal.objects.exists()


def test_goal_owned_by_another_workspaces_member_is_a_404(owner_api, elsewhere):
    response = owner_api.post("/goals", {**GOAL, "owner_id": elsewhere.member.pk})
    assert response.status_code == 404 and not Goal.objects.exists()


def test_goal_writes_need_the_pages_role(agent_api, viewer_api, workspace):
    goal = Goal.objects.create(workspace=workspace, name="G", kpi="answer_rate", target=50)
    for caller in (agent_api, viewer_api):
        assert caller.get(f"/goals/{goal.pk}").json()["name"] == "G"
        assert caller.post("/goals", GOAL).status_code == 403
        assert put(caller, f"/goals/{goal.pk}", GOAL).status_code == 403
        assert caller.delete(f"/goals/{goal.pk}").status_code == 403
    assert Goal.objects.get().name == "G"


# --- the reply: approvals and the collision check ----------------------------------------------


def test_a_held_reply_waits_for_an_approver_as_in_the_ui(agent_api, owner, workspace, conversation):
    do_save_approval_policy(owner, workspace, roles=[Role.AGENT])
    response = agent_api.post(f"/conversations/{conversation.pk}/reply", {"text": "Bonjour"})
    assert response.status_code == 202, response.content
    pending = PendingReply.objects.get()
    assert response.json()["id"] == pending.pk and response.json()["state"] == "pending"
    assert not Message.objects.filter(direction="outbound").exists()


def test_the_collision_check_is_off_by_default(agent_api, owner, conversation):
    do_assign_conversation(owner, conversation, owner)
    response = agent_api.post(f"/conversations/{conversation.pk}/reply", {"text": "Bonjour"})
    assert response.status_code == 201


def test_a_reply_with_what_it_saw_is_stopped_when_others_acted_since(
    agent_api, owner, conversation
):
    seen = agent_api.get(f"/conversations/{conversation.pk}").json()["seen"]
    do_tag_conversation(owner, conversation, "Livraison")  # a tag does not stop a reply
    do_assign_conversation(owner, conversation, owner)
    stopped = agent_api.post(
        f"/conversations/{conversation.pk}/reply", {"text": "Bonjour", "seen": seen}
    )
    assert stopped.status_code == 409, stopped.content
    body = stopped.json()
    assert [c["verb"] for c in body["changes"]] == [Verb.ASSIGNED]
    assert body["changes"][0]["who"] == "Léa Martin" and body["seen"] > seen
    assert not Message.objects.filter(direction="outbound").exists()
    # "Send anyway": with the newer mark it goes, unless more changed.
    sent = agent_api.post(
        f"/conversations/{conversation.pk}/reply", {"text": "Bonjour", "seen": body["seen"]}
    )
    assert sent.status_code == 201


def test_own_changes_never_stop_the_reply(agent_api, agent, conversation):
    seen = agent_api.get(f"/conversations/{conversation.pk}").json()["seen"]
    do_assign_conversation(agent, conversation, agent)
    response = agent_api.post(
        f"/conversations/{conversation.pk}/reply", {"text": "Bonjour", "seen": seen}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("role", [Role.MANAGER])
def test_a_manager_writes_the_library(workspace, role):
    from cercle.workspaces.actions import do_add_member, do_create_user

    manager = do_add_member(workspace, do_create_user("max", "correct horse battery"), role)
    caller = caller_for(manager)
    assert caller.post("/saved-replies", GREETING).status_code == 201
    assert caller.post("/personas", {"name": "All"}).status_code == 201
    assert caller.post("/goals", GOAL).status_code == 201


# --- rules -----------------------------------------------------------------------------------

SPAM_RULE = {
    "name": "Liens promo",
    "conditions": [{"field": "text_contains", "value": ["promo.example"]}],
    "actions": [{"type": "tag", "value": "promo"}, {"type": "hide"}],
}


def test_rule_create_get_update_and_dry_run(owner_api, owner, workspace, sim_channel):
    do_save_house_rule(owner, workspace, number=3, text_fr="Pas de pub", text_en="No ads")
    created = owner_api.post("/rules", {**SPAM_RULE, "house_rule": 3})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (
        body["mode"] == "off" and body["house_rule"] == 3 and body["actions"][1]["type"] == "hide"
    )
    pk = body["id"]
    assert owner_api.get(f"/rules/{pk}").json()["name"] == "Liens promo"
    assert [r["id"] for r in owner_api.get("/rules").json()] == [pk]

    conversation_of(sim_channel, "p1", text="Offre sur promo.example")
    conversation_of(sim_channel, "p2", text="Bonjour, une question")
    tried = owner_api.get(f"/rules/{pk}/dry-run", weeks=2).json()
    assert (tried["weeks"], tried["evaluated"], tried["hits"]) == (2, 2, 1)
    assert tried["examples"] == list(
        Message.objects.filter(text__contains="promo").values_list("pk", flat=True)
    )

    changed = put(owner_api, f"/rules/{pk}", {**SPAM_RULE, "mode": "suggest", "stop": True})
    assert changed.status_code == 200
    assert (changed.json()["mode"], changed.json()["stop"], changed.json()["house_rule"]) == (
        "suggest",
        True,
        None,
    )
    assert Rule.objects.get(pk=pk).mode == "suggest"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"conditions": [{"field": "toxicity_at_least", "value": "very"}]}, "number from 0"),
        ({"conditions": [{"field": "toxicity_at_least", "value": 7}]}, "number from 0"),
        ({"conditions": [{"field": "author_hidden_at_least", "value": 1.5}]}, "whole number"),
        ({"conditions": [{"field": "text_matches", "value": "(unclosed"}]}, "regular expression"),
        ({"conditions": [{"field": "password", "value": "x"}]}, "Unknown condition"),
        ({"actions": [{"type": "launch", "value": ""}]}, "Unknown action"),
        ({"house_rule": 9}, "No house rule has the number 9"),
    ],
)
def test_a_rule_the_action_refuses_is_a_422_with_its_reason(owner_api, change, reason):
    refused = owner_api.post("/rules", {**SPAM_RULE, **change})
    assert refused.status_code == 422, refused.content
    assert reason in refused.json()["detail"]
    assert not Rule.objects.exists()


def test_rule_writes_need_the_pages_role(agent_api, viewer_api, owner, workspace):
    assert agent_api.post("/rules", SPAM_RULE).status_code == 403
    assert viewer_api.post("/rules", SPAM_RULE).status_code == 403
    assert viewer_api.get("/rules").status_code == 200
    assert not Rule.objects.exists()
