"""The When page folds the members' actions by epoch seconds: the same local hours as datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cercle.insights.metrics import local_hour
from cercle.insights.queries import EpochSeconds
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity


@pytest.mark.parametrize(
    "zone",
    ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"],
)
def test_local_hour_matches_the_datetime_conversion_across_clock_changes(zone: str) -> None:
    tz = ZoneInfo(zone)
    cache: dict[int, tuple[object, int]] = {}
    # Every 7 minutes over the spring and autumn changes of 2026 (and a plain week).
    for start in (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)):
        for step in range(0, 16 * 24 * 60, 7):
            instant = start + timedelta(minutes=step, seconds=step % 60)
            expected = instant.astimezone(tz)
            got = local_hour(int(instant.timestamp()), tz, cache)  # type: ignore[arg-type]
            assert got == (expected.date(), expected.hour), (zone, instant)


@pytest.mark.django_db
def test_epoch_seconds_floors_each_row_to_its_second(workspace) -> None:
    instants = [
        datetime(2026, 11, 2, 9, 59, 59, 999_000, tzinfo=UTC),
        datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, 500_000, tzinfo=UTC),
        datetime(2031, 12, 31, 23, 59, 59, 998_000, tzinfo=UTC),
    ]
    ids = [
        Activity.objects.create(workspace=workspace, verb=Verb.RECEIVED, created_at=when).pk
        for when in instants
    ]
    epochs = list(
        Activity.objects.filter(pk__in=ids)
        .annotate(epoch=EpochSeconds("created_at"))
        .order_by("id")
        .values_list("epoch", flat=True)
    )
    assert epochs == [int(when.timestamp()) for when in instants]
