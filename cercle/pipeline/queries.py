"""Reads of the connectors app, always scoped by workspace."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from cercle.connectors import quota
from cercle.connectors.base import Capability, Connector
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class, connector_classes
from cercle.inbox.choices import OutboxState
from cercle.inbox.models import Outbox
from cercle.pipeline.choices import RawEventStatus
from cercle.pipeline.models import RawEvent
from cercle.workspaces.models import Workspace


def channels_for(workspace: Workspace) -> QuerySet[Channel]:
    """The workspace's connected channels, by name."""
    return Channel.objects.filter(workspace=workspace, is_active=True).order_by("name", "pk")


@dataclass(frozen=True)
class Backlog:
    """Outbound items of a channel not yet delivered."""

    queued: int = 0  # queued, being sent, or awaiting reconciliation
    waiting: int = 0  # waiting for a reconnection
    failed: int = 0  # given up; a person may retry them
    # Inbound deliveries not (fully) stored: failed, or stored except some items.
    unstored: int = 0


BACKLOG_STATES: dict[str, str] = {
    OutboxState.QUEUED: "queued",
    OutboxState.SENDING: "queued",
    OutboxState.UNKNOWN: "queued",
    OutboxState.WAITING: "waiting",
    OutboxState.FAILED: "failed",
}


def backlog_for(channels: list[Channel]) -> dict[int, Backlog]:
    """Backlog counts per channel, in one grouped query.

    Filters on (channel, state) so the outbox_channel_state_idx index serves it and
    delivered rows, the vast majority, are never read.
    """
    counts: dict[int, dict[str, int]] = {c.pk: {} for c in channels}
    rows = (
        Outbox.objects.filter(channel__in=[c.pk for c in channels], state__in=list(BACKLOG_STATES))
        .values("channel_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        key = BACKLOG_STATES[row["state"]]
        bucket = counts[row["channel_id"]]
        bucket[key] = bucket.get(key, 0) + row["n"]
    # Served by rawevent_unstored_idx: only failed and partial events are read.
    unstored = (
        RawEvent.objects.filter(
            channel__in=[c.pk for c in channels],
            status__in=[RawEventStatus.FAILED, RawEventStatus.PARTIAL],
        )
        .values("channel_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("channel_id", "n")
    )
    for channel_id, n in unstored:
        counts[channel_id]["unstored"] = n
    return {pk: Backlog(**bucket) for pk, bucket in counts.items()}


def channel_for(workspace: Workspace, channel_id: int, *, active_only: bool = True) -> Channel:
    """One channel of the workspace; another workspace's channel is a 404, like a missing one."""
    qs = Channel.objects.filter(workspace=workspace, pk=channel_id)
    if active_only:
        qs = qs.filter(is_active=True)
    channel = qs.first()
    if channel is None:
        raise Http404("no such channel")
    return channel


def find_account_channel(workspace: Workspace, platform: str, external_id: str) -> Channel | None:
    """The workspace's channel (connected or not) for a platform account, to reconnect instead of duplicating."""
    if not external_id:
        return None
    return Channel.objects.filter(
        workspace=workspace, platform=platform, external_id=external_id
    ).first()


# What each capability lets a team do, in the words of the "Add channel" page (settings order kept).
ABILITY_LABELS = {
    Capability.WEBHOOK: _("receive new items instantly"),
    Capability.POLL: _("fetch new items regularly"),
    Capability.REPLY: _("reply publicly"),
    Capability.PRIVATE_REPLY: _("answer a comment privately"),
    Capability.SEND_PRIVATE: _("answer private messages"),
    Capability.HIDE: _("hide comments"),
    Capability.UNHIDE: _("unhide comments"),
    Capability.DELETE: _("delete comments"),
    Capability.BAN: _("ban authors"),
    Capability.LIKE: _("like items"),
    Capability.SEARCH: _("search public posts (listening)"),
}


@dataclass(frozen=True)
class PlatformChoice:
    """A registered platform as offered on the "Add channel" page."""

    platform: str
    label: str
    capabilities: frozenset[Capability]
    uses_oauth: bool
    # OAuth platforms need the operator's app (client id) before anyone can connect.
    configured: bool
    # What a team can do there, for the page ("reply", "hide"…).
    abilities: list[str] = field(default_factory=list)


def platform_choices(configured: set[str]) -> list[PlatformChoice]:
    """Every registered platform in settings order, with what it can do."""
    choices = []
    for platform, cls in connector_classes().items():
        uses_oauth = Capability.OAUTH in cls.capabilities
        choices.append(
            PlatformChoice(
                platform=platform,
                label=str(cls.label),
                capabilities=cls.capabilities,
                uses_oauth=uses_oauth,
                configured=(platform in configured) if uses_oauth else bool(cls.setup_fields),
                abilities=[
                    str(label) for cap, label in ABILITY_LABELS.items() if cap in cls.capabilities
                ],
            )
        )
    return choices


def connector_class_or_404(platform: str) -> type[Connector]:
    """The registered connector class of `platform`, or 404 for an unknown name."""
    try:
        return connector_class(platform)
    except UnknownPlatform as exc:
        raise Http404("unknown platform") from exc


def quota_view(channel: Channel) -> dict[str, object] | None:
    """The channel's most used quota window for display (name, used, limit, percent, reset), if any.

    Read from the quota windows the connectors count before each call
    (`connectors.quota`): YouTube's daily units, Instagram's hourly writes, X's
    per-endpoint windows, Meta's usage percentage.
    """
    standings = quota.standings(channel)
    if not standings:
        return None
    tightest = standings[0]
    limit = max(1, tightest.limit)
    return {
        "name": tightest.name,
        "used": tightest.used,
        "limit": limit,
        "percent": min(100, round(100 * tightest.used / limit)),
        # The meter turns amber past 80 %: time to slow down before the platform refuses.
        "high": limit * 0.8,
        "resets_at": tightest.blocked_until or tightest.resets_at,
    }
