"""Every route of /api/v1/: its happy path, another workspace's object (404), a viewer's write (403)."""

from __future__ import annotations

import pytest

from cercle.inbox.actions import do_add_note, do_tag_conversation
from cercle.inbox.choices import Direction, OutboxState
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.moderation.models import Rule
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity
from tests.api.conftest import conversation_of


def test_conversations_list_shows_the_inbox(owner_api, conversation):
    body = owner_api.get("/conversations").json()
    assert [c["id"] for c in body["items"]] == [conversation.pk]
    row = body["items"][0]
    assert row["status"] == "new" and row["channel"]["platform"] == "simulator"
    assert row["contact"]["name"] == "Author c1" and body["next_cursor"] is None


def test_conversations_filters_and_search_are_the_inboxs(owner_api, owner, sim_channel):
    lamp = conversation_of(sim_channel, "c1", text="La lampe clignote")
    order = conversation_of(sim_channel, "c2", text="Ma commande est en retard")
    do_tag_conversation(owner, order, "Livraison")
    tag_id = order.tags.get().pk
    assert [c["id"] for c in owner_api.get("/conversations", q="lampe").json()["items"]] == [
        lamp.pk
    ]
    assert [c["id"] for c in owner_api.get("/conversations", tag=tag_id).json()["items"]] == [
        order.pk
    ]
    closed = owner_api.get("/conversations", view="closed").json()["items"]
    assert closed == []
    mine = owner_api.get("/conversations", assignee="me").json()["items"]
    assert mine == []


def test_conversation_detail(owner_api, conversation):
    body = owner_api.get(f"/conversations/{conversation.pk}").json()
    assert body["id"] == conversation.pk and body["tags"] == []


def test_messages_of_a_conversation(owner_api, owner, conversation):
    do_add_note(owner, conversation, "Note interne")
    body = owner_api.get(f"/conversations/{conversation.pk}/messages").json()
    assert [m["direction"] for m in body["items"]] == ["inbound", "note"]
    assert body["items"][0]["author"] == "Author c1" and body["items"][1]["author"] == "Léa Martin"


def test_reply_goes_through_the_same_action_as_the_ui(agent_api, agent, conversation):
    response = agent_api.post(f"/conversations/{conversation.pk}/reply", {"text": "Bonjour !"})
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.direction == Direction.OUTBOUND and message.author_member_id == agent.pk
    assert Outbox.objects.get(message=message).state == OutboxState.QUEUED
    assert Activity.objects.get(verb=Verb.REPLIED).actor_id == agent.pk
    assert response.json()["delivery"] == "pending"


def test_reply_refused_by_the_action_is_a_422_with_its_reason(agent_api, conversation):
    response = agent_api.post(f"/conversations/{conversation.pk}/reply", {"text": "   "})
    assert response.status_code == 422 and response.json()["detail"] == "The text is empty."


def test_note(agent_api, agent, conversation):
    response = agent_api.post(f"/conversations/{conversation.pk}/notes", {"text": "À rappeler"})
    assert response.status_code == 201 and response.json()["direction"] == "note"
    assert Activity.objects.get(verb=Verb.NOTE_ADDED).actor_id == agent.pk


def test_assign_and_unassign(agent_api, agent, conversation):
    response = agent_api.post(f"/conversations/{conversation.pk}/assign", {"assignee_id": agent.pk})
    assert response.status_code == 200 and response.json()["assignee"]["id"] == agent.pk
    assert Activity.objects.get(verb=Verb.ASSIGNED).actor_id == agent.pk
    response = agent_api.post(f"/conversations/{conversation.pk}/assign", {"assignee_id": None})
    assert response.json()["assignee"] is None


def test_status_close_and_snooze(agent_api, conversation):
    response = agent_api.post(f"/conversations/{conversation.pk}/status", {"status": "closed"})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    refused = agent_api.post(f"/conversations/{conversation.pk}/status", {"status": "snoozed"})
    assert refused.status_code == 422
    snoozed = agent_api.post(
        f"/conversations/{conversation.pk}/status",
        {"status": "snoozed", "snooze_until": "2999-01-01T09:00:00"},
    )
    assert snoozed.status_code == 200 and snoozed.json()["snoozed_until"].startswith("2999")


def test_tags_add_and_remove(agent_api, conversation):
    added = agent_api.post(f"/conversations/{conversation.pk}/tags", {"name": "Livraison"})
    assert added.status_code == 200 and [t["name"] for t in added.json()["tags"]] == ["Livraison"]
    tag_id = added.json()["tags"][0]["id"]
    assert [t["id"] for t in agent_api.get("/tags").json()] == [tag_id]
    removed = agent_api.delete(f"/conversations/{conversation.pk}/tags/{tag_id}")
    assert removed.status_code == 200 and removed.json()["tags"] == []


def test_contacts_list_and_detail(owner_api, conversation):
    contacts = owner_api.get("/contacts").json()
    assert [c["id"] for c in contacts["items"]] == [conversation.contact_id]
    assert owner_api.get("/contacts", q="zzz").json()["items"] == []
    detail = owner_api.get(f"/contacts/{conversation.contact_id}").json()
    assert detail["conversation_ids"] == [conversation.pk]
    assert detail["identities"][0]["handle"] == "hc1"


def test_channels_never_show_secrets(owner_api, sim_channel):
    response = owner_api.get("/channels")
    assert [c["name"] for c in response.json()] == ["Lumen forum"]
    text = response.content.decode()
    for secret in ("s3cret", "tok", "api_base", "credentials", sim_channel.verify_token or "∅"):
        assert f'"{secret}"' not in text and secret not in text.replace("Lumen forum", "")


def test_rules_members_insights(owner_api, owner, workspace, conversation):
    Rule.objects.create(workspace=workspace, name="Spam", conditions=[], actions=[])
    assert [r["name"] for r in owner_api.get("/rules").json()] == ["Spam"]
    assert owner.pk in [m["id"] for m in owner_api.get("/members").json()]
    insights = owner_api.get("/insights", days=30).json()
    assert insights["first_response"]["waits"] == 1
    assert sum(count for _day, count in insights["daily"]) >= 0
    assert len(insights["heatmap"]) == 7


# --- another workspace's objects: 404 on every object route ----------------------------------

OBJECT_ROUTES = [
    ("get", "/conversations/{c}", None),
    ("get", "/conversations/{c}/messages", None),
    ("post", "/conversations/{c}/reply", {"text": "hi"}),
    ("post", "/conversations/{c}/notes", {"text": "hi"}),
    ("post", "/conversations/{c}/assign", {"assignee_id": None}),
    ("post", "/conversations/{c}/status", {"status": "closed"}),
    ("post", "/conversations/{c}/tags", {"name": "x"}),
    ("delete", "/conversations/{c}/tags/{t}", None),
    ("get", "/contacts/{contact}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ROUTES)
def test_another_workspaces_object_is_a_404(owner_api, elsewhere, method, path, body):
    theirs = elsewhere.conversation
    do_tag_conversation(elsewhere.member, theirs, "Theirs")
    url = path.format(c=theirs.pk, t=theirs.tags.get().pk, contact=theirs.contact_id)
    call = getattr(owner_api, method)
    response = call(url, body) if body is not None else call(url)
    assert response.status_code == 404, (url, response.content)
    assert "Secret" not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "new" and theirs.tags.count() == 1
    assert Message.objects.filter(conversation=theirs).count() == 1


def test_our_conversation_with_their_tag_or_member_is_a_404(owner_api, conversation, elsewhere):
    do_tag_conversation(elsewhere.member, elsewhere.conversation, "Theirs")
    tag = elsewhere.conversation.tags.get()
    assert owner_api.delete(f"/conversations/{conversation.pk}/tags/{tag.pk}").status_code == 404
    response = owner_api.post(
        f"/conversations/{conversation.pk}/assign", {"assignee_id": elsewhere.member.pk}
    )
    assert response.status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).assignee_id is None


def test_lists_never_show_another_workspace(owner_api, conversation, elsewhere):
    ids = [c["id"] for c in owner_api.get("/conversations", view="all").json()["items"]]
    assert ids == [conversation.pk]
    assert elsewhere.conversation.pk not in ids
    searched = owner_api.get("/conversations", q="Secret").json()["items"]
    assert searched == []
    assert [c["name"] for c in owner_api.get("/channels").json()] == ["Lumen forum"]
    contacts = [c["id"] for c in owner_api.get("/contacts").json()["items"]]
    assert elsewhere.conversation.contact_id not in contacts


# --- a viewer's token: reads, but no write the viewer role does not allow ------------------------

VIEWER_REFUSED = [
    ("post", "/conversations/{c}/reply", {"text": "hi"}),
    ("post", "/conversations/{c}/assign", {"assignee_id": None}),
    ("post", "/conversations/{c}/status", {"status": "closed"}),
    ("post", "/conversations/{c}/tags", {"name": "x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), VIEWER_REFUSED)
def test_viewer_token_cannot_write(viewer_api, conversation, method, path, body):
    response = getattr(viewer_api, method)(path.format(c=conversation.pk), body)
    assert response.status_code == 403 and "role" in response.json()["detail"]
    conversation.refresh_from_db()
    assert conversation.status == "new" and not conversation.tags.exists()
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_viewer_token_cannot_untag(viewer_api, owner, conversation):
    tag = do_tag_conversation(owner, conversation, "Livraison")
    response = viewer_api.delete(f"/conversations/{conversation.pk}/tags/{tag.pk}")
    assert response.status_code == 403 and conversation.tags.count() == 1


def test_viewer_token_reads_and_notes_like_the_ui(viewer_api, conversation):
    assert viewer_api.get(f"/conversations/{conversation.pk}").status_code == 200
    # The viewer role writes notes in the UI, so it does through the API too.
    assert (
        viewer_api.post(f"/conversations/{conversation.pk}/notes", {"text": "vu"}).status_code
        == 201
    )


def test_an_agents_token_capped_at_viewer_cannot_reply(agent, conversation):
    from tests.api.conftest import caller_for

    capped = caller_for(agent, role="viewer")
    response = capped.post(f"/conversations/{conversation.pk}/reply", {"text": "hi"})
    assert response.status_code == 403
    assert capped.get("/me").json()["role"] == "viewer"


def test_writes_need_a_token_not_a_csrf_cookie(agent, conversation):
    """A script has no CSRF cookie: the token is the credential (a browser session is not)."""
    from django.test import Client

    from tests.api.conftest import API, caller_for

    caller = caller_for(agent)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        f"{API}/conversations/{conversation.pk}/notes",
        {"text": "via script"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {caller.secret}"},
    )
    assert response.status_code == 201
    # A logged-in browser session without a token is not an API credential.
    strict.force_login(agent.user)
    response = strict.post(
        f"{API}/conversations/{conversation.pk}/notes",
        {"text": "via session"},
        content_type="application/json",
    )
    assert response.status_code == 401


def test_a_list_page_costs_the_same_queries_whatever_its_rows(owner_api, owner, sim_channel):
    """Measured at one frozen instant: on a slow machine a minute may pass between two pages,
    and the token's use is noted again (one more query) once a minute."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cercle.core import clock

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_api.get("/conversations", limit=50).status_code == 200
        return len(captured)

    with clock.at(clock.now()):
        for i in range(2):
            do_tag_conversation(owner, conversation_of(sim_channel, f"a{i}"), "Livraison")
        queries_for_page()  # the token's first use of the minute also notes its last use
        few = queries_for_page()
        assert few <= 8
        for i in range(8):
            do_tag_conversation(owner, conversation_of(sim_channel, f"b{i}"), "Livraison")
        assert queries_for_page() == few
