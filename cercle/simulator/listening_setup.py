"""The demo's listening search: public posts naming the brand, found on the simulated Mastodon."""

from __future__ import annotations

from cercle.listening.actions import SearchFields, do_create_search
from cercle.workspaces.models import Member, Workspace


def configure_demo_listening(workspace: Workspace, owner: Member) -> None:
    """One active search; the worker runs it on its first tick, then every quarter hour."""
    if workspace.listening_searches.exists():
        return
    do_create_search(
        owner,
        workspace.pk,
        SearchFields(name="Maison Lumen", any_of="lumen, #lumen", none_of="recrute, hiring"),
    )
