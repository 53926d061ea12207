"""The poll schedule is a field of the channel (`next_poll_at`), kept by the poller."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cercle.connectors.base import Capability, Incoming, Page, RawEventData
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_classes
from cercle.connectors.simulator.connector import SimulatorConnector
from cercle.pipeline.poller import due_channels, poll_channel


class PlannedPolls(SimulatorConnector):
    """A polled platform whose page names when to poll next."""

    platform = "planned"
    capabilities = frozenset({Capability.POLL})
    next_at = None

    def parse(self, raw: RawEventData) -> list[Incoming]:
        return []

    def poll(self, cursor: str | None) -> Page:
        return Page(items=[], cursor=cursor, next_poll_at=PlannedPolls.next_at)


def _planned(settings, workspace) -> Channel:
    settings.CERCLE_CONNECTORS = ["tests.pipeline.test_poll_schedule.PlannedPolls"]
    connector_classes.cache_clear()
    return Channel.objects.create(workspace=workspace, platform="planned", name="Planned")


def test_a_channel_never_polled_is_due(settings, workspace):
    channel = _planned(settings, workspace)
    assert [c.pk for c in due_channels()] == [channel.pk]
    connector_classes.cache_clear()


def test_the_time_a_page_names_is_the_next_poll(settings, workspace):
    channel = _planned(settings, workspace)
    PlannedPolls.next_at = timezone.now() + timedelta(hours=3)
    poll_channel(channel)
    channel.refresh_from_db()
    assert (channel.next_poll_at, due_channels()) == (PlannedPolls.next_at, [])
    PlannedPolls.next_at = None
    connector_classes.cache_clear()


def test_without_a_named_time_the_channel_waits_its_interval(settings, workspace):
    channel = _planned(settings, workspace)
    Channel.objects.filter(pk=channel.pk).update(config={"poll_interval": 600})
    channel.refresh_from_db()
    PlannedPolls.next_at = None
    before = timezone.now()
    poll_channel(channel)
    channel.refresh_from_db()
    assert (
        before + timedelta(seconds=600)
        <= channel.next_poll_at
        <= timezone.now() + timedelta(seconds=600)
    )
    connector_classes.cache_clear()
