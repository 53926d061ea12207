"""Writes of the simulator app: pointing demo channels at the fake platform.

The backfill dates its history without rewriting anything: received items
carry the platform's own times, and the team's work on them runs through the
real actions inside `core.clock.at(when)` (see driver._work).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cercle.connectors.models import Channel


def do_repoint_channel(
    channel: Channel, config: dict[str, Any], credentials: dict[str, Any]
) -> Channel:
    """Give an existing demo channel the fake platform's new address and secrets (each run has its own)."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.config = {**locked.config, **config}
        locked.set_credentials(credentials)
        locked.is_active = True
        locked.save(update_fields=["config", "credentials_token", "is_active"])
    return locked
