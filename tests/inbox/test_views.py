"""The inbox pages: login, list filters and search, scoping, and the buttons that call actions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cercle.connectors.base import RawEventData
from cercle.connectors.registry import connector_for
from cercle.inbox.actions import do_receive, do_reply
from cercle.inbox.models import Conversation, Message, Outbox
from cercle.pipeline.actions import do_create_channel, do_record_delivery_failure
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity
from tests.conftest import sim_body, sim_event

HOSTILE = "<img src=x onerror=alert(1)>"


def receive(channel, *events):
    items = connector_for(channel).parse(RawEventData(body=sim_body(*events)))
    return do_receive(channel, items)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password="correct horse battery")
    return client


@pytest.fixture
def lea(client, owner):
    return login(client, "lea")


def test_inbox_requires_login(client, db):
    response = client.get(reverse("inbox:index"))
    assert response.status_code == 302 and reverse("workspaces:login") in response["Location"]


def test_login_page_renders(client, db):
    response = client.get(reverse("workspaces:login"))
    assert b'name="password"' in response.content


def test_inbox_lists_received_conversations(lea, sim_channel):
    receive(sim_channel, sim_event("c1", text="Où est ma commande ?"))
    response = lea.get(reverse("inbox:index"))
    assert "Où est ma commande ?" in response.content.decode()


def test_empty_workspace_teaches_to_add_a_channel(lea):
    response = lea.get(reverse("inbox:index"))
    assert "No channel yet" in response.content.decode()


@pytest.fixture
def conversation(sim_channel):
    receive(sim_channel, sim_event("c1"))
    return Conversation.objects.get(channel=sim_channel)


def test_conversation_page_shows_the_timeline(lea, conversation):
    response = lea.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert "Bonjour, ma commande n&#x27;est jamais arrivée" in response.content.decode()


def test_conversation_partial_for_htmx(lea, conversation):
    response = lea.get(
        reverse("inbox:conversation", args=[conversation.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    assert b"<html" not in response.content and b'id="timeline"' in response.content


def test_another_workspaces_conversation_is_a_404(client, conversation):
    other = do_create_workspace("Other brand")
    user = do_create_user("mallory", "correct horse battery")
    do_add_member(other, user, Role.OWNER)
    login(client, "mallory")
    assert client.get(reverse("inbox:conversation", args=[conversation.pk])).status_code == 404
    response = client.post(
        reverse("inbox:send", args=[conversation.pk]), {"mode": "note", "text": "x"}
    )
    assert response.status_code == 404


def test_reply_creates_an_outbound_message_and_outbox_row(lea, conversation):
    lea.post(
        reverse("inbox:send", args=[conversation.pk]), {"mode": "reply", "text": "Nous regardons !"}
    )
    message = Message.objects.get(conversation=conversation, direction="outbound")
    assert message.text == "Nous regardons !" and Outbox.objects.filter(message=message).exists()


def test_private_reply_is_private(lea, conversation):
    lea.post(reverse("inbox:send", args=[conversation.pk]), {"mode": "private", "text": "En privé"})
    assert Message.objects.get(conversation=conversation, direction="outbound").is_private


def test_note_creates_a_note(lea, conversation):
    lea.post(
        reverse("inbox:send", args=[conversation.pk]), {"mode": "note", "text": "Client fidèle"}
    )
    assert Message.objects.filter(
        conversation=conversation, direction="note", text="Client fidèle"
    ).exists()


def test_empty_reply_is_refused_with_a_message(lea, conversation):
    response = lea.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "  "},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    assert response.status_code == 422 and "The text is empty." in response.content.decode()


def test_viewer_cannot_reply(client, workspace, conversation):
    do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    login(client, "vic")
    response = client.post(
        reverse("inbox:send", args=[conversation.pk]),
        {"mode": "reply", "text": "hello"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    assert response.status_code == 403
    assert not Message.objects.filter(direction="outbound").exists()


def test_viewer_sees_no_reply_modes(client, workspace, conversation):
    do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    login(client, "vic")
    response = client.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert (
        b'name="mode" value="reply"' not in response.content
        and b'name="mode" value="note"' in response.content
    )


def test_assign_to_me(lea, owner, conversation):
    lea.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": "me"})
    conversation.refresh_from_db()
    assert conversation.assignee_id == owner.pk


def test_assign_to_member_then_unassign(lea, agent, conversation):
    lea.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": str(agent.pk)})
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == agent.pk
    lea.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": "none"})
    assert Conversation.objects.get(pk=conversation.pk).assignee_id is None


def test_assign_to_member_of_another_workspace_is_a_404(lea, conversation):
    other = do_create_workspace("Other")
    stranger = do_add_member(other, do_create_user("zed", "correct horse battery"), Role.AGENT)
    response = lea.post(
        reverse("inbox:assign", args=[conversation.pk]), {"assignee": str(stranger.pk)}
    )
    assert response.status_code == 404


def test_close_logs_a_status_change(lea, conversation):
    lea.post(reverse("inbox:status", args=[conversation.pk]), {"status": "closed"})
    assert Activity.objects.filter(
        conversation=conversation, verb="status_changed", data__new="closed"
    ).exists()


def test_snooze_with_a_preset(lea, conversation):
    lea.post(
        reverse("inbox:status", args=[conversation.pk]), {"status": "snoozed", "snooze": "tomorrow"}
    )
    conversation.refresh_from_db()
    assert conversation.status == "snoozed" and conversation.snoozed_until is not None


def test_tag_and_untag(lea, conversation):
    lea.post(reverse("inbox:tag", args=[conversation.pk]), {"name": "livraison"})
    tag = conversation.tags.get()
    lea.post(reverse("inbox:untag", args=[conversation.pk, tag.pk]))
    assert not conversation.tags.exists()
    assert Activity.objects.filter(conversation=conversation, verb="untagged").exists()


def test_moderation_goes_to_the_outbox(lea, conversation):
    message = conversation.messages.get()
    lea.post(reverse("inbox:moderate", args=[message.pk]), {"action": "hide"})
    assert Outbox.objects.filter(message=message, action="hide").exists()


def test_moderation_buttons_follow_capabilities(lea, conversation):
    response = lea.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert b'name="action" value="hide"' in response.content


def test_failed_delivery_shows_why_and_retry_requeues(lea, owner, conversation):
    message = do_reply(owner, conversation, "Bonjour")
    outbox = Outbox.objects.get(message=message)
    do_record_delivery_failure(outbox, "token expired", final=True)
    page = lea.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "token expired" in page and reverse("inbox:retry", args=[outbox.pk]) in page
    lea.post(reverse("inbox:retry", args=[outbox.pk]))
    assert Outbox.objects.get(pk=outbox.pk).state == "queued"


# --- the list ---------------------------------------------------------------------


@pytest.fixture
def three(sim_channel, owner):
    receive(
        sim_channel,
        sim_event("c1", text="Livraison en retard", author={"id": "u1", "name": "Camille"}),
        sim_event("c2", text="Great lamp, thanks", author={"id": "u2", "name": "John"}),
        sim_event("c3", text="Le colis est arrivé cassé", author={"id": "u3", "name": "Inès"}),
    )
    return {c.contact.display_name: c for c in Conversation.objects.select_related("contact")}


def _names(response) -> set[str]:
    return {r.contact.display_name for r in response.context["page"].rows}


def test_mine_view(lea, owner, three):
    from cercle.inbox.actions import do_assign_conversation

    do_assign_conversation(owner, three["John"], owner)
    assert _names(lea.get(reverse("inbox:index"), {"view": "mine"})) == {"John"}


def test_unassigned_view(lea, owner, three):
    from cercle.inbox.actions import do_assign_conversation

    do_assign_conversation(owner, three["John"], owner)
    assert _names(lea.get(reverse("inbox:index"), {"view": "unassigned"})) == {"Camille", "Inès"}


def test_closed_conversations_leave_all_open(lea, owner, three):
    from cercle.inbox.actions import do_change_status

    do_change_status(owner, three["Inès"], "closed")
    assert _names(lea.get(reverse("inbox:index"))) == {"Camille", "John"}
    assert _names(lea.get(reverse("inbox:index"), {"view": "closed"})) == {"Inès"}


def test_language_filter(lea, three):
    assert _names(lea.get(reverse("inbox:index"), {"language": "en"})) == {"John"}


def test_tag_filter(lea, owner, three):
    from cercle.inbox.actions import do_tag_conversation

    tag = do_tag_conversation(owner, three["Camille"], "retard")
    assert _names(lea.get(reverse("inbox:index"), {"tag": tag.pk})) == {"Camille"}


def test_channel_filter(lea, workspace, three):
    other = do_create_channel(workspace, "simulator", "Reviews", external_id="rev-1")
    receive(
        other,
        sim_event("r1", type="review", rating=2, text="Bof", author={"id": "u9", "name": "Zoé"}),
    )
    assert _names(lea.get(reverse("inbox:index"), {"channel": other.pk})) == {"Zoé"}


def test_search_finds_words_with_or_without_accents(lea, three):
    assert _names(lea.get(reverse("inbox:index"), {"q": "colis arrive"})) == {"Inès"}


def test_search_covers_closed_conversations(lea, owner, three):
    from cercle.inbox.actions import do_change_status

    do_change_status(owner, three["Inès"], "closed")
    assert _names(lea.get(reverse("inbox:index"), {"q": "cassé"})) == {"Inès"}


def test_sort_newest_and_paging(lea, sim_channel, owner):
    receive(
        sim_channel,
        *[sim_event(f"m{i}", author={"id": f"a{i}", "name": f"P{i:02d}"}) for i in range(55)],
    )
    first = lea.get(reverse("inbox:index"), {"sort": "newest"}).context["page"]
    second = lea.get(reverse("inbox:index"), {"sort": "newest", "page": 2}).context["page"]
    assert len(first.rows) == 50 and first.has_next and len(second.rows) == 5


def test_list_partial_for_htmx_keeps_the_form(lea, three):
    response = lea.get(
        reverse("inbox:index"),
        {"q": "lamp"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list",
        HTTP_HX_TRIGGER="filters",
    )
    body = response.content.decode()
    assert 'id="list-inner"' in body and 'id="filters"' not in body


def test_counts(lea, owner, three):
    from cercle.inbox.actions import do_assign_conversation

    do_assign_conversation(owner, three["John"], owner)
    counts = lea.get(reverse("inbox:index")).context["view_counts"].counts
    assert (counts["open"], counts["mine"], counts["unassigned"]) == (3, 1, 2)


def test_new_count_for_current_filters(lea, sim_channel, three):
    after = Activity.objects.order_by("-id").first().pk
    receive(sim_channel, sim_event("c9", text="Hello again", author={"id": "u2", "name": "John"}))
    receive(
        sim_channel,
        sim_event(
            "c10", text="Encore moi, toujours rien reçu", author={"id": "u1", "name": "Camille"}
        ),
    )
    response = lea.get(reverse("inbox:new_count"), {"language": "en", "after": after})
    assert response.json() == {"count": 1}


# --- hostile text -------------------------------------------------------------------


def test_hostile_text_and_author_are_escaped(lea, sim_channel):
    receive(sim_channel, sim_event("x1", text=HOSTILE, author={"id": "evil", "name": HOSTILE}))
    conversation = Conversation.objects.get(channel=sim_channel)
    for url in (reverse("inbox:index"), reverse("inbox:conversation", args=[conversation.pk])):
        body = lea.get(url).content.decode()
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_pages_carry_a_content_security_policy(lea):
    assert "default-src 'self'" in lea.get(reverse("inbox:index"))["Content-Security-Policy"]


def test_times_are_shown_in_the_workspace_time_zone(lea, conversation):
    # The message was sent at 09:30 UTC: 10:30 in Paris (the workspace's zone).
    page = lea.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "10:30 a.m." in page


def test_sla_states():
    from datetime import timedelta

    from django.utils import timezone

    from cercle.inbox.templatetags.inbox_tags import sla_label, sla_state

    now = timezone.now()
    waiting = now - timedelta(hours=3)
    late = Conversation(status="open", waiting_since=waiting, sla_due_at=now - timedelta(hours=2))
    soon = Conversation(
        status="open", waiting_since=waiting, sla_due_at=now + timedelta(minutes=10)
    )
    later = Conversation(status="open", waiting_since=waiting, sla_due_at=now + timedelta(hours=3))
    assert [sla_state(c, now) for c in (late, soon, later)] == ["breached", "risk", ""]
    assert sla_label(late, now) == "late 2 h"


def test_javascript_urls_are_not_links():
    from cercle.inbox.templatetags.inbox_tags import safe_url

    assert (safe_url("javascript:alert(1)"), safe_url("https://example.com/p")) == (
        "",
        "https://example.com/p",
    )


def test_action_response_updates_the_list_row_out_of_band(lea, conversation):
    response = lea.post(
        reverse("inbox:assign", args=[conversation.pk]),
        {"assignee": "me"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="conversation",
    )
    assert (
        f'id="row-{conversation.pk}"' in response.content.decode()
        and 'hx-swap-oob="outerHTML"' in response.content.decode()
    )


def test_workspace_switcher_changes_the_inbox(lea, owner, conversation):
    other = do_create_workspace("Second brand")
    do_add_member(other, owner.user, Role.OWNER)
    channel = do_create_channel(other, "simulator", "Second forum", external_id="s-1")
    receive(channel, sim_event("s1", text="Message de la seconde marque"))
    assert "Message de la seconde marque" not in lea.get(reverse("inbox:index")).content.decode()
    lea.post(reverse("workspaces:switch"), {"workspace": other.pk})
    assert "Message de la seconde marque" in lea.get(reverse("inbox:index")).content.decode()


def test_a_conversation_closed_from_the_open_list_leaves_it(lea, conversation):
    response = lea.post(
        reverse("inbox:status", args=[conversation.pk]),
        {"status": "closed", "filters": ""},
        HTTP_HX_REQUEST="true",
    )
    assert f'<li id="row-{conversation.pk}" hx-swap-oob="delete">' in response.content.decode()


def test_a_conversation_closed_from_the_closed_view_stays_in_it(lea, conversation):
    response = lea.post(
        reverse("inbox:status", args=[conversation.pk]),
        {"status": "closed", "filters": "view=closed"},
        HTTP_HX_REQUEST="true",
    )
    assert 'hx-swap-oob="outerHTML"' in response.content.decode()
