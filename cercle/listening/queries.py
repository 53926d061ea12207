"""Reads of listening, always scoped by workspace (another workspace's row is a 404)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cercle.connectors.base import Capability
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.moderation.choices import Sentiment

from .models import ListeningSearch, Mention, UnavailableSource


def searches(workspace_id: int) -> QuerySet[ListeningSearch]:
    return ListeningSearch.objects.filter(workspace_id=workspace_id)


def search_of(workspace_id: int, search_id: int) -> ListeningSearch:
    return get_object_or_404(searches(workspace_id), pk=search_id)


def mention_of(workspace_id: int, mention_id: int) -> Mention:
    return get_object_or_404(
        Mention.objects.filter(workspace_id=workspace_id).select_related("channel"),
        pk=mention_id,
    )


def mentions(
    search: ListeningSearch, *, language: str = "", sentiment: str = ""
) -> QuerySet[Mention]:
    qs = Mention.objects.filter(workspace_id=search.workspace_id, search=search)
    if language:
        qs = qs.filter(language=language)
    if sentiment:
        qs = qs.filter(sentiment=sentiment)
    return qs.select_related("channel", "conversation").order_by("-published_at", "-pk")


def can_search(platform: str) -> bool:
    try:
        return Capability.SEARCH in connector_class(platform).capabilities
    except UnknownPlatform:
        return False


def search_channels(workspace_id: int) -> list[Channel]:
    """The workspace's active channels whose platform can search."""
    return [
        c
        for c in Channel.objects.filter(workspace_id=workspace_id, is_active=True).order_by("pk")
        if can_search(c.platform)
    ]


def channels_of(search: ListeningSearch) -> list[Channel]:
    """The channels a search runs on: those chosen, else every one that can search."""
    chosen = {c.pk for c in search.channels.all()}
    available = search_channels(search.workspace_id)
    return [c for c in available if c.pk in chosen] if chosen else available


def unavailable_sources(search: ListeningSearch) -> list[UnavailableSource]:
    """The search's channels whose platform refuses search to the account's plan."""
    ids = [c.pk for c in channels_of(search)]
    return list(
        UnavailableSource.objects.filter(workspace_id=search.workspace_id, channel_id__in=ids)
        .select_related("channel")
        .order_by("channel_id")
    )


def volume_by_day(
    search: ListeningSearch, *, days: int, until: datetime
) -> list[tuple[date, int, int]]:
    """(day, mentions, negative mentions) for each of the `days` days up to `until`, oldest first."""
    start = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Mention.objects.filter(
        workspace_id=search.workspace_id, search=search, published_at__gte=start
    ).values_list("published_at", "sentiment")
    total: Counter[date] = Counter()
    negative: Counter[date] = Counter()
    for published_at, sentiment in rows:
        day = published_at.date()
        total[day] += 1
        if sentiment == Sentiment.NEGATIVE:
            negative[day] += 1
    first = start.date()
    return [
        (
            first + timedelta(days=i),
            total[first + timedelta(days=i)],
            negative[first + timedelta(days=i)],
        )
        for i in range(days)
    ]
