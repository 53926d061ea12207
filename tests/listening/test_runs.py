"""A listening pass: calls per source, promotion by rule, alert episodes and their notifications,
a platform whose plan has no search."""

from datetime import timedelta

import httpx
import pytest
from django.urls import reverse

from cercle.connectors.http import transport
from cercle.core import clock
from cercle.inbox.models import Conversation
from cercle.listening.actions import (
    ALERT_VERB,
    SearchFields,
    do_create_search,
    do_promote_by_rule,
    do_update_search,
    do_watch_alert,
)
from cercle.listening.models import Mention, PromoteWhen, UnavailableSource
from cercle.listening.tasks import poll_searches, run_search
from cercle.notifications.actions import do_drain_activity_log
from cercle.notifications.models import Notification
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind, Role
from cercle.workspaces.models import Activity

from .conftest import CONNECTORS, NOW, mastodon_channel, reddit_channel, rss_channel


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def search_for(owner, name="Lumen", **extra):
    fields = {"any_of": "lumen, #lumen, lampe aube", **extra}
    return do_create_search(owner, owner.workspace_id, SearchFields(name=name, **fields))


# --- one query per search and source, one fetch per feed ---------------------------------------


def test_reddit_is_asked_once_per_search_with_or(workspace, owner, platforms):
    reddit_channel(workspace)
    run_search(search_for(owner))
    (request,) = [r for r in platforms.requests if r.url.path == "/search"]
    assert request.url.params["q"] == '(lumen OR #lumen OR "lampe aube")'


def test_mastodon_without_or_is_asked_once_per_alternative(workspace, owner, platforms):
    mastodon_channel(workspace)
    run_search(search_for(owner))
    asked = [r.url.params["q"] for r in platforms.requests if r.url.path == "/api/v2/search"]
    assert asked == ["lumen", "#lumen", "lampe aube"]


def test_a_feed_is_fetched_once_per_pass_for_every_search(workspace, owner, platforms):
    rss_channel(workspace)
    first = search_for(owner)
    second = search_for(owner, name="Salon", any_of="salon, chaleureux")
    assert poll_searches.call() >= 2
    feeds = [r for r in platforms.requests if r.url.host == "carnet-deco.example"]
    assert len(feeds) == 1
    assert Mention.objects.filter(search=first).exists()
    assert Mention.objects.filter(search=second).exists()


# --- promotion by rule -------------------------------------------------------------------------


def _mention(search, channel, n, *, sentiment="", intent="", when=NOW):
    return Mention.objects.create(
        workspace_id=search.workspace_id,
        search=search,
        channel=channel,
        external_id=f"m{n}",
        author_handle=f"someone{n}",
        text=f"lumen {n}",
        sentiment=sentiment,
        intent=intent,
        published_at=when,
        dedupe_key=f"t:{n}",
    )


@pytest.mark.parametrize(
    ("rule", "promoted"),
    [
        (PromoteWhen.NEVER, []),
        (PromoteWhen.ALWAYS, ["m1", "m2", "m3"]),
        (PromoteWhen.NEGATIVE, ["m1"]),
        (PromoteWhen.QUESTION, ["m2"]),
    ],
)
def test_a_rule_promotes_what_it_names(workspace, owner, rule, promoted):
    channel = mastodon_channel(workspace)
    search = search_for(owner, promote_when=rule)
    mentions = [
        _mention(search, channel, 1, sentiment="negative", intent="complaint"),
        _mention(search, channel, 2, sentiment="neutral", intent="question"),
        _mention(search, channel, 3, sentiment="positive", intent="praise"),
    ]
    with clock.at(NOW):
        do_promote_by_rule(search, mentions)
        do_promote_by_rule(search, [Mention.objects.get(pk=m.pk) for m in mentions])  # idempotent
    chosen = Mention.objects.filter(search=search, conversation__isnull=False)
    assert sorted(chosen.values_list("external_id", flat=True)) == promoted
    assert Conversation.objects.filter(workspace=workspace).count() == len(promoted)
    logged = Activity.objects.filter(verb="mention_promoted")
    assert logged.count() == len(promoted)
    assert all(
        (a.actor_id, a.automation, a.automation_name, a.automation_ref)
        == (None, AutomationKind.RULE, "Listening: Lumen", search.pk)
        for a in logged
    )


def test_a_search_promoting_everything_fills_the_inbox_as_mentions_arrive(
    workspace, owner, platforms
):
    mastodon_channel(workspace)
    search = search_for(owner, promote_when=PromoteWhen.ALWAYS)
    stored = run_search(search)
    assert stored == Conversation.objects.filter(workspace=workspace).count() > 0
    assert not Mention.objects.filter(search=search, conversation__isnull=True).exists()


def test_the_rule_is_chosen_in_the_form(lea, workspace, owner):
    search = search_for(owner)
    url = reverse("listening:edit", args=[search.pk])
    assert "Promote to the inbox by itself" in lea.get(url).content.decode()
    response = lea.post(
        url, {"name": "Lumen", "any_of": "lumen", "promote_when": "negative", "active": "on"}
    )
    assert response.status_code == 302
    search.refresh_from_db()
    assert search.promote_when == PromoteWhen.NEGATIVE
    assert (
        "when it is negative"
        in lea.get(reverse("listening:detail", args=[search.pk])).content.decode()
    )


# --- alert episodes ---------------------------------------------------------------------------


def _jumping(search, channel):
    n = 100
    for day in range(1, 8):  # two calm mentions a day
        for _ in range(2):
            n += 1
            _mention(
                search, channel, n, sentiment="positive", when=NOW - timedelta(days=day, hours=1)
            )
    for i in range(8):  # then eight in a few hours, mostly negative
        n += 1
        _mention(
            search,
            channel,
            n,
            sentiment="negative" if i < 5 else "neutral",
            when=NOW - timedelta(hours=2),
        )


def test_a_jump_is_one_activity_per_episode_told_to_the_managers(workspace, owner, agent):
    manager = do_add_member(workspace, do_create_user("max", "pw-max-123456"), Role.MANAGER)
    channel = mastodon_channel(workspace)
    search = search_for(owner)
    _jumping(search, channel)
    actor = Automation(workspace_id=workspace.pk, kind=AutomationKind.PIPELINE, name="Listening")
    with clock.at(NOW):
        assert do_watch_alert(actor, search, NOW) is not None
        do_watch_alert(actor, search, NOW + timedelta(minutes=15))  # the same episode
        do_drain_activity_log()
    (alert,) = Activity.objects.filter(verb=ALERT_VERB)
    assert alert.data["search_id"] == search.pk and alert.data["volume"] and alert.data["negative"]
    told = Notification.objects.filter(activity=alert, kind="listening_alert")
    # The managers (owner and manager), not the agent.
    assert set(told.values_list("member_id", flat=True)) == {owner.pk, manager.pk}
    # Calm again: the episode ends; a later jump is a new one.
    later = NOW + timedelta(days=3)
    assert do_watch_alert(actor, search, later) is None
    search.refresh_from_db()
    assert search.alert_since is None
    _mention(search, channel, 999, when=later)
    assert Activity.objects.filter(verb=ALERT_VERB).count() == 1


def test_the_alert_shows_on_the_page_and_the_notification_opens_the_search(lea, workspace, owner):
    channel = mastodon_channel(workspace)
    search = search_for(owner)
    _jumping(search, channel)
    with clock.at(NOW):
        actor = Automation(workspace_id=workspace.pk, kind=AutomationKind.PIPELINE)
        assert do_watch_alert(actor, search, NOW) is not None
        do_drain_activity_log()
        page = lea.get(reverse("listening:detail", args=[search.pk])).content.decode()
    assert "the managers were notified" in page
    notification = Notification.objects.get(member=owner, kind="listening_alert")
    listed = lea.get(reverse("notifications:list")).content.decode()
    assert "Listening: mentions jump for “Lumen”" in listed
    opened = lea.get(reverse("notifications:open", args=[notification.pk]))
    assert opened.status_code == 302 and opened.url == reverse("listening:detail", args=[search.pk])


def test_a_run_watches_the_alert(workspace, owner, platforms):
    channel = mastodon_channel(workspace)
    search = search_for(owner)
    _jumping(search, channel)
    run_search(search)
    assert Activity.objects.filter(verb=ALERT_VERB).count() == 1


# --- a plan without search ------------------------------------------------------------------------


def x_channel(workspace):
    return do_create_channel(
        workspace,
        "x",
        "@MaisonLumen",
        external_id="1072250532645998596",
        credentials={"access_token": "tok", "client_id": "cid"},
    )


def test_a_plan_without_search_is_skipped_until_retry_and_said_once(lea, workspace, owner):
    forbidden = (CONNECTORS / "x" / "fixtures" / "error_403_client_forbidden.json").read_bytes()
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(403, content=forbidden, headers={"content-type": "application/json"})

    channel = x_channel(workspace)
    search = search_for(owner)
    with transport(httpx.MockTransport(refuse)):
        with clock.at(NOW):
            assert run_search(search) == 0
        with clock.at(NOW + timedelta(hours=2)):
            assert run_search(search) == 0
    assert len(calls) == 1  # the second run did not ask again
    source = UnavailableSource.objects.get(channel=channel)
    assert (
        "client-forbidden" not in source.detail and "not available on this X plan" in source.detail
    )
    assert Activity.objects.filter(verb="listening_source_unavailable").count() == 1
    with clock.at(NOW + timedelta(hours=2)):
        page = lea.get(reverse("listening:detail", args=[search.pk])).content.decode()
    assert "Search is not available on the plan of" in page

    def empty(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"meta": {"result_count": 0}})

    with transport(httpx.MockTransport(empty)), clock.at(NOW + timedelta(days=1, hours=1)):
        run_search(search)
    assert len(calls) == 2 and not UnavailableSource.objects.exists()
    assert Activity.objects.filter(verb="listening_source_available").count() == 1


def test_changing_the_rule_is_an_update_of_the_search(workspace, owner):
    search = search_for(owner)
    do_update_search(
        owner, search, SearchFields(name="Lumen", any_of="lumen", promote_when="question")
    )
    search.refresh_from_db()
    assert search.promote_when == PromoteWhen.QUESTION
