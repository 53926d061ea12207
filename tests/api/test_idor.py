"""Another workspace's objects, on every route of the OpenAPI document: 404, nothing changed.

The sweep reads the paths from the API's own document, so a route added later is
swept too, and fails here until it has a valid body below (a body the schema
refuses would be a 422 before the object is even looked up, and prove nothing).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cercle.api.api import api
from cercle.inbox.actions import do_tag_conversation
from cercle.inbox.models import Message
from cercle.insights.actions import do_save_goal, do_save_persona
from cercle.insights.models import Goal, Persona
from cercle.moderation.actions import do_save_rule
from cercle.moderation.models import Rule
from cercle.replies.actions import do_save_saved_reply
from cercle.replies.models import SavedReply
from cercle.workspaces.models import Activity
from tests.api.conftest import API

MARK = "Mallory-secret"
RULE = {
    "name": "Mine",
    "conditions": [{"field": "text_contains", "value": ["x"]}],
    "actions": [{"type": "tag", "value": "x"}],
}

# A valid body for every operation that takes one, keyed by (method, path).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/conversations/{conversation_id}/reply"): {"text": "hi"},
    ("post", "/conversations/{conversation_id}/notes"): {"text": "hi"},
    ("post", "/conversations/{conversation_id}/assign"): {"assignee_id": None},
    ("post", "/conversations/{conversation_id}/status"): {"status": "closed"},
    ("post", "/conversations/{conversation_id}/tags"): {"name": "x"},
    ("put", "/saved-replies/{saved_reply_id}"): {"title": "Mine", "versions": {"en": "Mine"}},
    ("post", "/saved-replies"): {"title": "Mine", "versions": {"en": "Mine"}},
    ("put", "/personas/{persona_id}"): {"name": "Mine", "conditions": []},
    ("post", "/personas"): {"name": "Mine", "conditions": []},
    ("put", "/goals/{goal_id}"): {"name": "Mine", "kpi": "answer_rate", "target": 1},
    ("post", "/goals"): {"name": "Mine", "kpi": "answer_rate", "target": 1},
    ("put", "/rules/{rule_id}"): RULE,
    ("post", "/rules"): RULE,
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = api.get_openapi_schema()
    found = []
    for full_path, methods in document["paths"].items():
        path = full_path.removeprefix(API)
        for method, operation in methods.items():
            found.append((method, path, operation))
    return found


OPERATIONS = _operations()
OBJECT_OPERATIONS = [(m, p, o) for m, p, o in OPERATIONS if "{" in p]
LIST_OPERATIONS = [(m, p, o) for m, p, o in OPERATIONS if "{" not in p and m == "get"]


def test_the_sweep_covers_the_document():
    assert len(OBJECT_OPERATIONS) >= 20
    for method, path, operation in OPERATIONS:
        if "requestBody" in operation:
            assert (method, path) in BODIES, f"give {method.upper()} {path} a valid body"


@pytest.fixture
def theirs(elsewhere) -> dict[str, int]:
    """Ids of one of everything in the other workspace, by the path parameter that names it."""
    member, workspace = elsewhere.member, elsewhere.workspace
    tag = do_tag_conversation(member, elsewhere.conversation, MARK)
    saved = do_save_saved_reply(member, workspace, title=MARK, versions={"en": MARK})
    persona = do_save_persona(member, workspace, name=MARK, description="", conditions=[])
    goal = do_save_goal(
        member, workspace, Goal(name=MARK, kpi="answer_rate", target=50, workspace=workspace)
    )
    rule = do_save_rule(
        member,
        workspace,
        name=MARK,
        conditions=[{"field": "text_contains", "value": [MARK]}],
        actions=[{"type": "tag", "value": MARK}],
    )
    return {
        "rule_id": rule.pk,
        "conversation_id": elsewhere.conversation.pk,
        "tag_id": tag.pk,
        "contact_id": elsewhere.conversation.contact_id,
        "saved_reply_id": saved.pk,
        "persona_id": persona.pk,
        "goal_id": goal.pk,
    }


def _state(elsewhere) -> tuple[Any, ...]:
    conversation = elsewhere.conversation
    conversation.refresh_from_db()
    return (
        conversation.status,
        conversation.assignee_id,
        sorted(conversation.tags.values_list("name", flat=True)),
        Message.objects.filter(conversation=conversation).count(),
        list(SavedReply.objects.filter(workspace=elsewhere.workspace).values_list("title")),
        list(Persona.objects.filter(workspace=elsewhere.workspace).values_list("name")),
        list(Goal.objects.filter(workspace=elsewhere.workspace).values_list("name", "target")),
        list(Rule.objects.filter(workspace=elsewhere.workspace).values_list("name", "mode")),
        Activity.objects.filter(workspace=elsewhere.workspace).count(),
    )


def _call(caller, method: str, path: str, body: dict[str, Any] | None, query: dict[str, Any]):
    client: Client = caller.client
    headers = caller._headers()
    url = API + path
    if method == "get":
        return client.get(url, query, headers=headers)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    call = getattr(client, method)
    return call(url, body or {}, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, _o in OBJECT_OPERATIONS], ids=lambda v: str(v)
)
def test_another_workspaces_object_is_a_404_on_every_route(
    owner_api, conversation, elsewhere, theirs, method, path
):
    operation = next(o for m, p, o in OBJECT_OPERATIONS if (m, p) == (method, path))
    url = path.format(**theirs)
    # A required query parameter naming an object (render's conversation_id) is theirs too.
    query = {
        p["name"]: theirs[p["name"]]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required") and p["name"] in theirs
    }
    before = _state(elsewhere)
    response = _call(owner_api, method, url, BODIES.get((method, path)), query)
    assert response.status_code == 404, (method, url, response.content)
    assert MARK not in response.content.decode() and "Secret" not in response.content.decode()
    assert _state(elsewhere) == before


@pytest.mark.parametrize("path", [p for _m, p, _o in LIST_OPERATIONS], ids=lambda v: str(v))
def test_no_list_shows_another_workspaces_objects(owner_api, conversation, theirs, path):
    response = owner_api.get(path)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert MARK not in text and "Secret d" not in text and "Other forum" not in text


def test_our_saved_reply_rendered_in_their_conversation_is_a_404(
    owner_api, owner, workspace, theirs
):
    ours = do_save_saved_reply(owner, workspace, title="Ours", versions={"en": "Hi"})
    response = owner_api.get(
        f"/saved-replies/{ours.pk}/render", conversation_id=theirs["conversation_id"]
    )
    assert response.status_code == 404 and MARK not in response.content.decode()


def test_their_saved_reply_rendered_in_our_conversation_is_a_404(owner_api, conversation, theirs):
    response = owner_api.get(
        f"/saved-replies/{theirs['saved_reply_id']}/render", conversation_id=conversation.pk
    )
    assert response.status_code == 404 and MARK not in response.content.decode()
