"""Listening end to end: searches, the poll, dedupe, promotion into the inbox, the page, scoping, roles."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cercle.core import clock
from cercle.inbox.models import Conversation, Message
from cercle.listening import alerts
from cercle.listening.actions import (
    ListeningRefused,
    SearchFields,
    do_create_search,
    do_promote_mention,
)
from cercle.listening.models import Mention
from cercle.listening.tasks import poll_searches, run_search, searches_due
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.models import Activity

from .conftest import mastodon_channel, reddit_channel

HOSTILE = "<img src=x onerror=alert(1)> lumen"


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def lumen(owner, **extra):
    return do_create_search(
        owner, owner.workspace_id, SearchFields(name="Lumen", any_of="lumen, #lumen", **extra)
    )


def test_the_poll_stores_matching_mentions_once_across_sources_and_runs(
    workspace, owner, platforms
):
    mastodon_channel(workspace)
    # A second Mastodon account on another instance finds the same statuses (same URLs).
    mastodon_channel(workspace, "https://other.example")
    reddit_channel(workspace)
    search = lumen(owner, none_of="support")
    assert searches_due()
    stored = run_search(search)
    texts = sorted(m.text[:19] for m in Mention.objects.filter(search=search))
    # The broken-lamp status says "support": excluded; the direct status never comes.
    assert texts == ["Je viens de recevoi", "Lumen lamp review a"]
    assert stored == 2
    assert not searches_due()
    # Found again on the next run: nothing new.
    assert run_search(search) == 0
    assert Mention.objects.count() == 2
    mention = Mention.objects.get(channel__platform="reddit")
    assert mention.author_handle == "lamp_fan"
    assert mention.language == "en"
    assert mention.sentiment in {"positive", "neutral", "negative"}
    french = Mention.objects.get(channel__platform="mastodon")
    assert french.language == "fr"
    assert Activity.objects.filter(verb="mentions_found").count() == 2


def test_the_same_mention_found_by_two_searches_is_stored_once(workspace, owner, platforms):
    mastodon_channel(workspace)
    first = lumen(owner)
    second = do_create_search(owner, workspace.pk, SearchFields(name="Lamps", all_of="lamp"))
    assert run_search(first) == 2
    assert run_search(second) == 0
    assert Mention.objects.filter(search=second).count() == 0


def test_poll_task_runs_only_due_searches(workspace, owner, platforms):
    mastodon_channel(workspace)
    search = lumen(owner)
    assert poll_searches.call() == 2
    assert poll_searches.call() == 0
    search.refresh_from_db()
    assert search.last_run_at == clock.now() or search.last_run_at is not None


def test_promote_creates_one_conversation_and_is_idempotent(workspace, owner, platforms):
    mastodon_channel(workspace)
    run_search(lumen(owner))
    mention = Mention.objects.get(external_id="115400000000000001")
    conversation = do_promote_mention(owner, mention)
    again = do_promote_mention(owner, mention)
    assert again.pk == conversation.pk
    assert Conversation.objects.filter(workspace=workspace).count() == 1
    (message,) = Message.objects.filter(conversation=conversation)
    assert message.external_id == mention.external_id
    assert message.text == mention.text
    mention.refresh_from_db()
    assert mention.conversation_id == conversation.pk
    assert Activity.objects.filter(verb="mention_promoted").count() == 1


def test_promote_from_the_page_redirects_to_the_conversation(lea, workspace, owner, platforms):
    mastodon_channel(workspace)
    run_search(lumen(owner))
    mention = Mention.objects.get(external_id="115400000000000001")
    response = lea.post(reverse("listening:promote", args=[mention.pk]))
    mention.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:conversation", args=[mention.conversation_id])
    lea.post(reverse("listening:promote", args=[mention.pk]))
    assert Conversation.objects.count() == 1


def test_a_viewer_cannot_create_searches_nor_promote(client, workspace, owner, platforms):
    viewer = do_add_member(workspace, do_create_user("vic", "correct horse battery"), Role.VIEWER)
    with pytest.raises(PermissionDenied):
        do_create_search(viewer, workspace.pk, SearchFields(name="x", all_of="lumen"))
    assert client.login(username="vic", password="correct horse battery")
    assert (
        client.post(reverse("listening:new"), {"name": "x", "all_of": "lumen"}).status_code == 403
    )
    mastodon_channel(workspace)
    run_search(lumen(owner))
    mention = Mention.objects.first()
    assert client.post(reverse("listening:promote", args=[mention.pk])).status_code == 403
    assert client.get(reverse("listening:index")).status_code == 200


def test_a_manager_creates_a_search_from_the_form(lea, workspace):
    channel = mastodon_channel(workspace)
    response = lea.post(
        reverse("listening:new"),
        {
            "name": "Lumen",
            "all_of": "",
            "any_of": "lumen\n#lumen",
            "none_of": "job",
            "languages": "fr, EN",
            "channels": [str(channel.pk)],
            "active": "on",
        },
    )
    assert response.status_code == 302
    search = workspace.listening_searches.get()
    edit_page = lea.get(reverse("listening:edit", args=[search.pk])).content.decode()
    assert "lumen, #lumen" in edit_page
    assert lea.get(reverse("listening:new")).status_code == 200
    assert search.any_of == ["lumen", "#lumen"]
    assert search.languages == ["fr", "en"]
    assert list(search.channels.all()) == [channel]
    # Nothing to look for: refused with a message.
    response = lea.post(reverse("listening:new"), {"name": "Vide", "none_of": "job"})
    assert response.status_code == 200
    assert workspace.listening_searches.count() == 1


def test_empty_search_is_refused_by_the_action(owner):
    with pytest.raises(ListeningRefused):
        do_create_search(owner, owner.workspace_id, SearchFields(name="x", none_of="job"))


def test_another_workspaces_search_and_mention_are_404(lea, workspace, owner, platforms):
    other = do_create_workspace("Autre")
    other_owner = do_add_member(other, do_create_user("zoe", "pw-zoe-123456"), Role.OWNER)
    mastodon_channel(other)
    search = lumen(other_owner)
    run_search(search)
    mention = Mention.objects.filter(workspace=other).first()
    assert lea.get(reverse("listening:detail", args=[search.pk])).status_code == 404
    assert lea.get(reverse("listening:edit", args=[search.pk])).status_code == 404
    assert lea.post(reverse("listening:promote", args=[mention.pk])).status_code == 404
    assert (
        reverse("listening:detail", args=[search.pk])
        not in lea.get(reverse("listening:index")).content.decode()
    )
    assert Conversation.objects.count() == 0


def test_hostile_text_is_inert_on_the_page(lea, workspace, owner, platforms):
    mastodon_channel(workspace)
    status = platforms.mastodon["statuses"][0]
    status["content"] = "<p>&lt;img src=x onerror=alert(1)&gt; lumen</p>"
    status["account"]["display_name"] = "<script>alert(2)</script>"
    search = lumen(owner)
    run_search(search)
    assert Mention.objects.filter(text__contains="onerror").exists()
    page = lea.get(reverse("listening:detail", args=[search.pk])).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(2)" not in page


def test_the_page_lists_mentions_filters_and_volume(lea, workspace, owner, platforms):
    mastodon_channel(workspace)
    search = lumen(owner)
    run_search(search)
    url = reverse("listening:detail", args=[search.pk])
    page = lea.get(url).content.decode()
    assert "Je viens de recevoir" in page and "arrived broken" in page
    assert 'id="listening-volume"' in page
    only_french = lea.get(url, {"language": "fr"}).content.decode()
    assert "Je viens de recevoir" in only_french and "arrived broken" not in only_french


def _mention(search, channel, n, when, sentiment=""):
    Mention.objects.create(
        workspace_id=search.workspace_id,
        search=search,
        channel=channel,
        external_id=str(n),
        text="lumen",
        sentiment=sentiment,
        published_at=when,
        dedupe_key=f"t:{n}",
    )


def test_alert_when_volume_or_negative_share_jumps(workspace, owner):
    channel = mastodon_channel(workspace)
    search = lumen(owner)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    n = 0
    for day in range(1, 8):  # two calm mentions a day, one negative in the week
        for _ in range(2):
            n += 1
            _mention(search, channel, n, now - timedelta(days=day, hours=1), "positive")
    assert alerts.check(search, now) is None
    for i in range(8):
        n += 1
        _mention(search, channel, n, now - timedelta(hours=2), "negative" if i < 5 else "neutral")
    jump = alerts.check(search, now)
    assert jump is not None and jump.volume and jump.negative
    assert jump.last_day == 8


def test_no_alert_without_history():
    assert alerts.jump_of((50, 40), [(0, 0)] * 7) is None
    assert alerts.jump_of((3, 0), [(2, 0)] * 7) is None
    calm_volume = alerts.jump_of((6, 5), [(5, 0)] * 7)
    assert calm_volume is not None and not calm_volume.volume and calm_volume.negative
