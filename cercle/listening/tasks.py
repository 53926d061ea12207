"""The listening poll (django-tasks): each due search on each channel that can search.

The scheduler (`pipeline/worker.py`) enqueues it only when a search is due.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django_tasks import task

from cercle.connectors.base import ConnectorError
from cercle.connectors.http import PlatformHttp
from cercle.connectors.registry import connector_for
from cercle.core import clock
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind

from .actions import do_mark_search_run, do_store_mentions, due_searches
from .models import ListeningSearch
from .queries import channels_of

logger = logging.getLogger(__name__)

# A search runs at most this often (platform searches count against tight limits).
SEARCH_EVERY = 15 * 60.0
# The first run reads back this far; later runs from their last run (with an overlap).
FIRST_LOOKBACK = timedelta(days=2)
OVERLAP = timedelta(hours=1)


def run_search(search: ListeningSearch, http: PlatformHttp | None = None) -> int:
    """Ask every channel of the search; returns the number of new mentions stored."""
    actor = Automation(
        workspace_id=search.workspace_id,
        kind=AutomationKind.PIPELINE,
        name=f"Listening: {search.name}"[:200],
    )
    since = (search.last_run_at - OVERLAP) if search.last_run_at else clock.now() - FIRST_LOOKBACK
    stored = 0
    for channel in channels_of(search):
        connector = connector_for(channel, http)
        for query in search.query.platform_queries():
            try:
                items = connector.search(query, since)
            except ConnectorError as exc:
                logger.warning("listening: %s on channel %s: %s", search.pk, channel.pk, exc)
                break
            stored += len(do_store_mentions(actor, search, channel, items))
    do_mark_search_run(search)
    return stored


def searches_due() -> bool:
    return bool(due_searches(SEARCH_EVERY))


@task()
def poll_searches() -> int:
    """Run the searches whose turn has come."""
    return sum(run_search(search) for search in due_searches(SEARCH_EVERY))
