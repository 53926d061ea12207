"""The listening poll (django-tasks): each due search on each channel that can search.

The scheduler (`pipeline/worker.py`) enqueues it only when a search is due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django_tasks import task

from cercle.connectors.base import ConnectorError, Incoming, NotAvailable, SearchTerms
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind

from .actions import (
    do_clear_source_unavailable,
    do_mark_search_run,
    do_mark_source_unavailable,
    do_promote_by_rule,
    do_store_mentions,
    do_watch_alert,
    due_searches,
)
from .models import DEFAULT_RUN_EVERY, ListeningSearch, Mention, UnavailableSource
from .queries import channels_of

logger = logging.getLogger(__name__)

# A search runs this often unless it says otherwise (`ListeningSearch.run_every`).
SEARCH_EVERY = DEFAULT_RUN_EVERY.total_seconds()
# The first run reads back this far; later runs from their last run (with an overlap).
FIRST_LOOKBACK = timedelta(days=2)
OVERLAP = timedelta(hours=1)
# A platform that refused search to the account's plan is asked again after this long.
UNAVAILABLE_RETRY = timedelta(days=1)


class RunCache:
    """What one pass over the due searches has fetched already.

    A source whose search reads everything whatever the query (a feed) is
    fetched once per pass, its items shared by every search that uses it.
    """

    def __init__(self) -> None:
        self.everything: dict[int, list[Incoming]] = {}


def _items(items: list[Incoming], since: datetime) -> list[Incoming]:
    return [i for i in items if i.sent_at is None or i.sent_at >= since]


def run_search(
    search: ListeningSearch, http: PlatformHttp | None = None, cache: RunCache | None = None
) -> int:
    """Ask every channel of the search; returns the number of new mentions stored.

    One platform call per search and channel where the platform's query syntax
    has OR (`Connector.search_queries`); a feed is read once per pass (`cache`).
    A channel whose plan has no search is skipped until its retry time.
    """
    cache = cache or RunCache()
    actor = Automation(
        workspace_id=search.workspace_id,
        kind=AutomationKind.PIPELINE,
        name=f"Listening: {search.name}"[:200],
    )
    now = clock.now()
    since = (search.last_run_at - OVERLAP) if search.last_run_at else now - FIRST_LOOKBACK
    waiting = {
        source.channel_id: source
        for source in UnavailableSource.objects.filter(workspace_id=search.workspace_id)
    }
    terms = search.query.terms()
    stored: list[Mention] = []
    for channel in channels_of(search):
        refused = waiting.get(channel.pk)
        if refused is not None and refused.retry_at > now:
            continue
        try:
            _search_channel(actor, search, channel, http, cache, terms, since, stored)
        except NotAvailable as exc:
            do_mark_source_unavailable(actor, channel, exc.detail, now + UNAVAILABLE_RETRY)
            continue
        except ConnectorError as exc:
            logger.warning("listening: %s on channel %s: %s", search.pk, channel.pk, exc)
            continue
        if refused is not None:
            do_clear_source_unavailable(actor, channel)
    do_mark_search_run(search)
    do_promote_by_rule(search, stored)
    do_watch_alert(actor, search, now)
    return len(stored)


def _search_channel(
    actor: Automation,
    search: ListeningSearch,
    channel: Channel,
    http: PlatformHttp | None,
    cache: RunCache,
    terms: SearchTerms,
    since: datetime,
    stored: list[Mention],
) -> None:
    """Search one channel, adding what is new to `stored` (kept when a later query fails)."""
    connector = connector_for(channel, http)
    if connector.search_reads_everything:
        if channel.pk not in cache.everything:
            cache.everything[channel.pk] = connector.search("", None)
        everything = _items(cache.everything[channel.pk], since)
        stored += do_store_mentions(actor, search, channel, everything)
        return
    for query in connector.search_queries(terms):
        stored += do_store_mentions(actor, search, channel, connector.search(query, since))


def searches_due() -> bool:
    return bool(due_searches())


@task()
def poll_searches() -> int:
    """Run the searches whose turn has come (one pass: each feed read once)."""
    cache = RunCache()
    return sum(run_search(search, cache=cache) for search in due_searches())
