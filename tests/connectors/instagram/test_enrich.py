"""Instagram mention webhooks carry ids only: the enrich step fetches text, author and link."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus

from cercle.core import taskqueue
from cercle.inbox.choices import Enrichment
from cercle.inbox.models import Message
from cercle.inbox.receive import UNKNOWN_AUTHOR_NAME
from cercle.pipeline.actions import do_ingest_pending, do_store_raw_event
from cercle.pipeline.enrich import enrich_channel
from cercle.pipeline.tasks import enrich_items, requeue_lost_enrichment

from .conftest import IG, fixture_bytes

MENTION = "mention:17918195224117852:17894227972186120"
MENTIONED_COMMENT = {
    "mentioned_comment": {
        "id": "17894227972186120",
        "text": "@maisonlumen la lampe est superbe",
        "timestamp": "2024-11-25T08:00:00+0000",
        "username": "julie.b",
        "media": {"id": "17918195224117852", "permalink": "https://www.instagram.com/p/abc/"},
    },
    "id": IG,
}


def _mention(channel) -> Message:
    do_store_raw_event(channel, fixture_bytes("webhook_mention_comment.json"), {})
    do_ingest_pending()
    return Message.objects.select_related("conversation__contact").get(external_id=MENTION)


def test_an_id_only_mention_is_stored_loading_and_not_written_by_the_brand(ig_channel):
    mention = _mention(ig_channel)
    contact = mention.conversation.contact
    assert (mention.enrichment, contact.display_name) == (
        Enrichment.LOADING,
        UNKNOWN_AUTHOR_NAME,
    )
    assert not contact.identities.filter(external_id__startswith="brand:").exists()


def test_an_id_only_mention_is_enriched_with_its_text_author_and_link(graph, ig_channel):
    _mention(ig_channel)
    graph.on("GET", f"/{IG}", MENTIONED_COMMENT)
    report = enrich_channel(ig_channel.pk)
    mention = Message.objects.select_related("author_identity", "conversation__contact").get(
        external_id=MENTION
    )
    assert report.fetched == 1
    assert (
        mention.enrichment,
        mention.text,
        mention.author_identity.handle,
        mention.conversation.contact.display_name,
        mention.url,
    ) == (
        Enrichment.NONE,
        "@maisonlumen la lampe est superbe",
        "julie.b",
        "julie.b",
        "https://www.instagram.com/p/abc/",
    )
    assert mention.conversation.preview == "@maisonlumen la lampe est superbe"


def test_a_failed_fetch_is_retried_later_and_the_mention_stays_loading(graph, ig_channel):
    _mention(ig_channel)
    graph.on("GET", f"/{IG}", {"error": {"message": "down", "code": 2}}, status=500)
    report = enrich_channel(ig_channel.pk)
    assert report.retry_at is not None
    assert Message.objects.get(external_id=MENTION).enrichment == Enrichment.LOADING


def test_a_rate_limited_fetch_pauses_the_channel(graph, ig_channel):
    _mention(ig_channel)
    graph.on("GET", f"/{IG}", {"error": {"message": "too many", "code": 4}}, status=400)
    report = enrich_channel(ig_channel.pk)
    ig_channel.refresh_from_db()
    assert ig_channel.paused_until is not None and report.retry_at == ig_channel.paused_until


def test_a_mention_gone_from_the_platform_stops_loading(graph, ig_channel):
    _mention(ig_channel)
    graph.on("GET", f"/{IG}", lambda request: httpx.Response(200, json={"id": IG}))
    enrich_channel(ig_channel.pk)
    assert Message.objects.get(external_id=MENTION).enrichment == Enrichment.UNAVAILABLE


def test_ingesting_a_mention_queues_the_enrich_step(ig_channel, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        _mention(ig_channel)
    assert DBTaskResult.objects.filter(task_path__endswith="enrich_items").exists()


def test_rules_see_the_text_of_an_enriched_mention(graph, ig_channel, owner, workspace):
    from cercle.moderation.actions import do_save_rule
    from cercle.moderation.choices import RuleMode

    do_save_rule(
        owner,
        workspace,
        name="Compliments",
        conditions=[{"field": "text_contains", "value": ["superbe"]}],
        actions=[{"type": "tag", "value": "compliment"}],
        mode=RuleMode.LIVE,
    )
    _mention(ig_channel)
    graph.on("GET", f"/{IG}", MENTIONED_COMMENT)
    enrich_channel(ig_channel.pk)
    mention = Message.objects.get(external_id=MENTION)
    assert list(mention.conversation.tags.values_list("name", flat=True)) == ["compliment"]


def _enrich_rows():  # type: ignore[no-untyped-def]
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path__endswith="enrich_items")


@pytest.mark.skipif(
    taskqueue.backend_kind() != taskqueue.DATABASE, reason="plays a killed worker's task row"
)
@pytest.mark.parametrize(
    ("state", "started_minutes_ago", "requeued"),
    [
        # Cut off by SIGKILL: its row stays RUNNING, and nothing enqueued a follow-up.
        (TaskResultStatus.RUNNING, 60, True),
        # Still running (recently started), or waiting (a retry due later): in hand.
        (TaskResultStatus.RUNNING, 1, False),
        (TaskResultStatus.READY, None, False),
        # Finished without leaving the items done (a run that died before its follow-up).
        (TaskResultStatus.FAILED, 60, True),
    ],
)
def test_items_left_loading_by_a_killed_enrich_run_are_enriched_again(
    ig_channel, state, started_minutes_ago, requeued
):
    _mention(ig_channel)  # enqueued nothing: its on-commit hook is not run here
    result = enrich_items.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(
        ig_channel.pk
    )
    started = (
        None
        if started_minutes_ago is None
        else timezone.now() - timedelta(minutes=started_minutes_ago)
    )
    _enrich_rows().filter(pk=result.id).update(status=state, started_at=started)
    assert requeue_lost_enrichment() == ([ig_channel.pk] if requeued else [])
    waiting = _enrich_rows().filter(status=TaskResultStatus.READY).count()
    assert waiting == (1 if requeued or state == TaskResultStatus.READY else 0)


def test_no_enrich_run_is_queued_without_loading_items(ig_channel):
    assert (requeue_lost_enrichment(), _enrich_rows().count()) == ([], 0)
