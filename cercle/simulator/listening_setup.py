"""The demo's listening search: public posts naming the brand, found on the simulated Mastodon and X."""

from __future__ import annotations

from datetime import timedelta

from cercle.connectors.models import Channel
from cercle.listening.actions import SearchFields, do_create_search, do_set_search_interval
from cercle.workspaces.models import Member, Workspace

# The demo's search runs every minute, so a visitor sees mentions arrive live
# (a real search runs every quarter hour: platform searches have tight limits).
DEMO_RUN_EVERY = timedelta(minutes=1)
# The demo's platforms whose wire answers a search (the simulated Reddit has no /search).
SEARCH_PLATFORMS = ("mastodon", "x")


def configure_demo_listening(workspace: Workspace, owner: Member) -> None:
    """One active search, run by the worker on its first tick, then every minute."""
    if workspace.listening_searches.exists():
        return
    search = do_create_search(
        owner,
        workspace.pk,
        SearchFields(
            name="Maison Lumen",
            any_of="lumen, #lumen",
            none_of="recrute, hiring",
            channel_ids=list(
                Channel.objects.filter(
                    workspace=workspace, platform__in=SEARCH_PLATFORMS, is_active=True
                ).values_list("pk", flat=True)
            ),
        ),
    )
    do_set_search_interval(owner, search, DEMO_RUN_EVERY)
