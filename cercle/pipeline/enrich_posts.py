"""Post enrichment: ask the platform for the text, link and publication time of bare posts.

A comment's webhook usually names only the id of the post it hangs under, so
the post is stored bare and Insights cannot tell when the brand published it.
When ingestion creates such a post, `enqueue_post_enrichment` starts the
`enrich_posts` task for its channel; the task asks the channel's connector
(`Capability.POST_DETAILS`, `Connector.post_details`) in the platform's batch
size and stores what it finds through `do_fill_post_details` (blanks filled,
nothing overwritten, only the channel's own posts).

A platform error (5xx, a broken answer) retries later with backoff; a revoked
token or a missing permission leaves the posts bare and shows on the channel's
health. A rate limit (the platform's 429, or the connector's own quota count)
makes only this task wait until the time it names; a channel already paused is
not asked before its pause ends. A post the platform no longer has (deleted), or
that is not the brand's, stays bare and is not asked again by this run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cercle.connectors.base import (
    Capability,
    ConnectorError,
    PermissionDenied,
    RateLimited,
    TokenRevoked,
)
from cercle.connectors.choices import Health
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class, connector_for
from cercle.inbox.models import Post
from cercle.pipeline.actions import (
    backoff,
    do_fill_post_details,
    do_set_channel_health,
)

logger = logging.getLogger(__name__)

# Platform calls per run: a burst of new posts spreads over several runs instead of
# eating the window's quota at once (Meta reads one post per call, others batch).
CALLS_PER_RUN = 20
# After this many failed runs in a row the posts are left bare.
MAX_ATTEMPTS = 8


@dataclass(slots=True)
class PostsReport:
    """What one run did; `retry_at` when `retry` must be asked again later, `rest` still to ask."""

    asked: int = 0
    filled: int = 0
    missing: int = 0  # asked and not returned: deleted, or not the brand's
    retry: list[int] = field(default_factory=list)
    retry_at: datetime | None = None
    rest: list[int] = field(default_factory=list)


def _bare() -> Q:
    return Q(published_at__isnull=True) | Q(text="") | Q(url="")


def can_enrich(channel: Channel) -> bool:
    """Whether the channel's platform can tell a post's details."""
    try:
        return Capability.POST_DETAILS in connector_class(channel.platform).capabilities
    except UnknownPlatform:
        return False


def bare_post_ids(channel: Channel, limit: int | None = None) -> list[int]:
    """Ids of the channel's posts still lacking text, link or publication time, oldest first."""
    ids = Post.objects.filter(_bare(), channel=channel).order_by("id").values_list("pk", flat=True)
    return list(ids[:limit] if limit is not None else ids)


def enqueue_post_enrichment(posts: Iterable[tuple[int, int]]) -> None:
    """After commit, one `enrich_posts` task per channel for these (channel id, post id)."""
    by_channel: dict[int, list[int]] = defaultdict(list)
    for channel_id, post_id in posts:
        by_channel[channel_id].append(post_id)
    if not by_channel:
        return
    platforms = dict(Channel.objects.filter(pk__in=list(by_channel)).values_list("pk", "platform"))
    wanted = {}
    for channel_id, post_ids in by_channel.items():
        try:
            cls = connector_class(platforms.get(channel_id, ""))
        except UnknownPlatform:
            continue
        if Capability.POST_DETAILS in cls.capabilities:
            wanted[channel_id] = sorted(set(post_ids))
    if not wanted:
        return
    from cercle.pipeline.tasks import enrich_posts

    def enqueue() -> None:
        for channel_id in sorted(wanted):
            enrich_posts.enqueue(channel_id, wanted[channel_id])

    transaction.on_commit(enqueue)


def enrich_channel_posts(channel_id: int, post_ids: list[int], attempt: int = 1) -> PostsReport:
    """Ask the platform for one run's share of `post_ids` (those of the channel still bare)."""
    report = PostsReport()
    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None or not can_enrich(channel):
        return report
    now = timezone.now()
    if channel.paused_until and channel.paused_until > now:
        report.retry, report.retry_at = list(post_ids), channel.paused_until
        return report
    bare = dict(
        Post.objects.filter(_bare(), channel=channel, pk__in=post_ids)
        .order_by("id")
        .values_list("pk", "external_id")
    )
    pks = [pk for pk in sorted(bare) if bare[pk]]
    connector = connector_for(channel)
    size = max(1, connector.post_details_batch)
    take = pks[: size * CALLS_PER_RUN]
    report.rest = pks[len(take) :]
    try:
        for start in range(0, len(take), size):
            chunk = take[start : start + size]
            try:
                refs = connector.post_details([bare[pk] for pk in chunk])
            except RateLimited as exc:
                # Only this task waits: a read of post details never pauses the channel's
                # replies (YouTube's own count keeps units for writes, and says so this way).
                retry_at = exc.retry_at or now + timedelta(minutes=15)
                report.retry, report.retry_at = take[start:] + report.rest, retry_at
                report.rest = []
                return report
            except ConnectorError as exc:
                logger.warning("fetching posts of channel %s failed: %s", channel.pk, exc)
                if isinstance(exc, TokenRevoked):
                    do_set_channel_health(channel, Health.NEEDS_REAUTH, exc.detail)
                elif isinstance(exc, PermissionDenied):
                    do_set_channel_health(channel, Health.DEGRADED, exc.detail)
                if attempt < MAX_ATTEMPTS and not isinstance(exc, TokenRevoked | PermissionDenied):
                    report.retry = take[start:] + report.rest
                    report.retry_at = now + backoff(attempt)
                report.rest = []
                return report
            report.asked += len(chunk)
            asked = {bare[pk] for pk in chunk}
            found = [r for r in refs if r.external_id in asked]
            report.missing += len(asked - {r.external_id for r in found})
            report.filled += len(do_fill_post_details(channel, found))
    finally:
        connector.http.close()
    return report
