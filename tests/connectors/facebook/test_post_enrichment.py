"""The enrich_posts task on a Facebook Page: ingestion enqueues it, it fills bare posts' blanks.

The platform is faked at the HTTP boundary with Graph's documented answers; the
task's behaviour (only bare posts, only the channel's own, nothing overwritten,
idempotent, retries, health) is the same for every connector with POST_DETAILS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cercle.connectors.base import Author, Incoming, PostRef
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Post
from cercle.pipeline.actions import do_create_channel, do_ingest_pending, do_store_raw_event
from cercle.pipeline.enrich_posts import (
    MAX_ATTEMPTS,
    bare_post_ids,
    enqueue_post_enrichment,
    enrich_channel_posts,
)
from cercle.pipeline.tasks import enrich_posts

from .conftest import APP_SECRET, PAGE_ID, fixture_bytes, fixture_json, graph_error

POST_ID = "1234567890321_7293787835232"
PUBLISHED = datetime(2026, 10, 2, 8, 30, tzinfo=UTC)
TEXT = "Nouvelle collection : les lampes Aurore sont arrivées."


def _comment_on(channel: Channel, post: PostRef, n: int = 1) -> int:
    result = do_receive(
        channel,
        [
            Incoming(
                external_id=f"{post.external_id}_c{n}",
                kind="comment",
                author=Author(external_id=f"fan{n}", name="Fan"),
                text="Superbe !",
                post=post,
            )
        ],
    )
    return Post.objects.get(channel=channel, external_id=post.external_id).pk if result else 0


def test_a_comment_webhook_creates_a_bare_post_and_enqueues_its_enrichment(
    fb_channel, django_capture_on_commit_callbacks
):
    do_store_raw_event(fb_channel, fixture_bytes("webhook_feed_comment_add_sender.json"), {})
    with django_capture_on_commit_callbacks(execute=True):
        do_ingest_pending()
    post = Post.objects.get(channel=fb_channel)
    assert post.published_at is None
    task = DBTaskResult.objects.get(task_path__endswith="enrich_posts")
    assert task.args_kwargs["args"][:2] == [fb_channel.pk, [post.pk]]


def test_a_post_delivered_whole_enqueues_nothing(fb_channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _comment_on(
            fb_channel,
            PostRef(
                external_id=POST_ID,
                text=TEXT,
                url="https://www.facebook.com/x",
                published_at=PUBLISHED,
            ),
        )
    assert not DBTaskResult.objects.filter(task_path__endswith="enrich_posts").exists()


def test_the_task_fills_the_blanks_of_a_bare_post(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", fixture_json("graph_post.json"))
    report = enrich_channel_posts(fb_channel.pk, [pk])
    post = Post.objects.get(pk=pk)
    assert (report.asked, report.filled, report.missing) == (1, 1, 0)
    assert (post.text, post.published_at, post.url) == (
        TEXT,
        PUBLISHED,
        "https://www.facebook.com/1234567890321/posts/7293787835232",
    )
    assert bare_post_ids(fb_channel) == []


def test_nothing_already_stored_is_overwritten(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID, text="Le texte que nous avions"))
    graph.on("GET", f"/{POST_ID}", fixture_json("graph_post.json"))
    enrich_channel_posts(fb_channel.pk, [pk])
    post = Post.objects.get(pk=pk)
    assert (post.text, post.published_at) == ("Le texte que nous avions", PUBLISHED)


def test_a_rerun_asks_nothing_and_changes_nothing(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", fixture_json("graph_post.json"))
    enrich_channel_posts(fb_channel.pk, [pk])
    before = Post.objects.values().get(pk=pk)
    report = enrich_channel_posts(fb_channel.pk, [pk])
    assert (report.asked, report.filled) == (0, 0)
    assert len(graph.sent("GET", f"/{POST_ID}")) == 1
    assert Post.objects.values().get(pk=pk) == before


def test_a_deleted_post_stays_bare_and_is_not_retried(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_invalid.json"))
    report = enrich_channel_posts(fb_channel.pk, [pk])
    assert (report.missing, report.retry, report.rest) == (1, [], [])
    assert Post.objects.get(pk=pk).published_at is None


def test_another_channels_post_of_the_same_id_is_never_touched(graph, workspace, fb_channel):
    other = do_create_channel(
        workspace,
        "facebook",
        "Another Page",
        external_id="999",
        credentials={"app_id": "4242", "app_secret": APP_SECRET, "page_access_token": "EAAOther"},
    )
    mine = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    theirs = _comment_on(other, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", fixture_json("graph_post.json"))
    # Asked with the other channel's post id, this channel's run reads nothing of it.
    assert enrich_channel_posts(fb_channel.pk, [theirs]).asked == 0
    enrich_channel_posts(fb_channel.pk, [mine])
    assert Post.objects.get(pk=mine).published_at == PUBLISHED
    assert Post.objects.get(pk=theirs).published_at is None
    assert graph.sent("GET", f"/{POST_ID}")[0].headers["authorization"] == "Bearer EAAPageToken"


def test_a_revoked_token_leaves_the_post_bare_and_shows_on_the_channels_health(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_token.json"))
    report = enrich_channel_posts(fb_channel.pk, [pk])
    fb_channel.refresh_from_db()
    assert (report.retry, fb_channel.health) == ([], Health.NEEDS_REAUTH)
    assert Post.objects.get(pk=pk).published_at is None


def test_a_server_error_retries_with_backoff_then_gives_up(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_transient.json", status=500))
    before = timezone.now()
    report = enrich_channel_posts(fb_channel.pk, [pk], attempt=1)
    assert report.retry == [pk]
    assert report.retry_at is not None and report.retry_at > before
    assert enrich_channel_posts(fb_channel.pk, [pk], attempt=MAX_ATTEMPTS).retry == []


def test_a_rate_limit_waits_without_pausing_the_channels_replies(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    graph.on(
        "GET",
        f"/{POST_ID}",
        graph_error("graph_error_rate_limit.json", 429, {"Retry-After": "120"}),
    )
    report = enrich_channel_posts(fb_channel.pk, [pk])
    fb_channel.refresh_from_db()
    assert report.retry == [pk] and report.retry_at is not None
    assert fb_channel.paused_until is None


def test_a_paused_channel_is_not_asked_before_its_pause_ends(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    until = timezone.now() + timedelta(minutes=10)
    Channel.objects.filter(pk=fb_channel.pk).update(paused_until=until)
    report = enrich_channel_posts(fb_channel.pk, [pk])
    assert (report.retry, report.retry_at, graph.requests) == ([pk], until, [])


def test_the_task_enqueues_its_retry_and_the_rest(graph, fb_channel):
    pk = _comment_on(fb_channel, PostRef(external_id=POST_ID))
    DBTaskResult.objects.all().delete()
    graph.on("GET", f"/{POST_ID}", graph_error("graph_error_transient.json", status=500))
    assert enrich_posts.call(fb_channel.pk, [pk]) == 0
    retry = DBTaskResult.objects.get(task_path__endswith="enrich_posts")
    assert retry.args_kwargs["args"] == [fb_channel.pk, [pk], 2]
    assert retry.run_after is not None


def test_only_channels_whose_platform_tells_post_details_are_enqueued(
    fb_channel, sim_channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_post_enrichment([(fb_channel.pk, 1), (fb_channel.pk, 2), (sim_channel.pk, 3)])
    rows = DBTaskResult.objects.filter(task_path__endswith="enrich_posts")
    assert [r.args_kwargs["args"] for r in rows] == [[fb_channel.pk, [1, 2]]]
    assert PAGE_ID  # the fixture's Page
