"""The one quota mechanism: windows the platform declares, counted before each call, across workers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from cercle.connectors import quota
from cercle.connectors.base import RateLimited
from cercle.connectors.models import Channel, QuotaWindow
from cercle.connectors.youtube.client import next_quota_reset
from tests.conftest import database_vendor

HOURLY = quota.Window(name="comment_writes", limit=3, period=timedelta(hours=1), rolling=True)


def test_calls_within_the_limit_are_counted(sim_channel: Channel) -> None:
    for _ in range(3):
        quota.take(sim_channel, HOURLY)
    assert QuotaWindow.objects.get(channel=sim_channel, name="comment_writes").used == 3


def test_the_call_past_the_limit_is_refused_until_the_window_slides(sim_channel: Channel) -> None:
    for _ in range(3):
        quota.take(sim_channel, HOURLY)
    with pytest.raises(RateLimited) as refused:
        quota.take(sim_channel, HOURLY)
    assert refused.value.retry_at > timezone.now() + timedelta(minutes=59)


def test_a_rolling_window_still_weighs_the_previous_hour(sim_channel: Channel) -> None:
    # Three writes in the hour that ended ten minutes ago: most of them are still within the last hour.
    now = timezone.now()
    QuotaWindow.objects.create(
        channel=sim_channel,
        name=HOURLY.name,
        limit=3,
        used=3,
        started_at=now - timedelta(minutes=70),
        resets_at=now - timedelta(minutes=10),
    )
    with pytest.raises(RateLimited):
        quota.take(sim_channel, HOURLY)


def test_a_keep_leaves_units_for_others(sim_channel: Channel) -> None:
    daily = quota.Window(name="units", limit=100, period=timedelta(days=1), reset=next_quota_reset)
    quota.take(sim_channel, daily, 60)
    with pytest.raises(RateLimited):
        quota.take(sim_channel, daily, 10, keep=40)


def test_a_daily_window_resets_at_midnight_pacific(sim_channel: Channel) -> None:
    daily = quota.Window(name="units", limit=100, period=timedelta(days=1), reset=next_quota_reset)
    quota.take(sim_channel, daily, 1)
    window = QuotaWindow.objects.get(channel=sim_channel, name="units")
    assert window.resets_at == next_quota_reset(timezone.now())


def test_a_window_the_platform_blocked_refuses_until_then(sim_channel: Channel) -> None:
    until = timezone.now() + timedelta(hours=2)
    quota.block(sim_channel, HOURLY, until)
    with pytest.raises(RateLimited) as refused:
        quota.take(sim_channel, HOURLY)
    assert refused.value.retry_at == until


def test_an_observed_window_counts_until_its_reset(sim_channel: Channel) -> None:
    reset = timezone.now() + timedelta(minutes=15)
    quota.observe(sim_channel, "POST /2/tweets", limit=2, used=1, resets_at=reset)
    quota.take_observed(sim_channel, "POST /2/tweets")
    with pytest.raises(RateLimited) as refused:
        quota.take_observed(sim_channel, "POST /2/tweets")
    assert refused.value.retry_at == reset


def _two_workers_take(channel: Channel) -> None:
    window = quota.Window(name="writes", limit=10, period=timedelta(hours=1))
    barrier = threading.Barrier(2)
    taken: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        count = 0
        try:
            barrier.wait(timeout=10)
            for _ in range(10):
                try:
                    quota.take(channel, window)
                    count += 1
                except RateLimited:
                    pass
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            taken.append(count)
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    used = QuotaWindow.objects.get(channel=channel, name="writes").used
    assert (sum(taken), used) == (10, 10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_count_past_the_limit_on_postgresql(sim_channel: Any) -> None:
    _two_workers_take(sim_channel)


@pytest.mark.skipif(database_vendor() != "sqlite", reason="the SQLite variant of the test above")
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_count_past_the_limit_on_sqlite(sim_channel: Any) -> None:
    _two_workers_take(sim_channel)
