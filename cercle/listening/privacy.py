"""What listening holds about a person (their public mentions), for the privacy app's export,
erasure and retention (registered as a keeper by `pipeline/apps.py`).

A mention is the person's when its author is one of their identities (same
channel, same platform id) or when it was promoted into one of their
conversations. Erased and expired mentions leave a Tombstone per (channel,
external id): the next search does not store them again (`do_store_mentions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from cercle.core import clock
from cercle.inbox.models import Tombstone
from cercle.privacy.erasers import Keeper, Person

from .models import Mention

# Mentions one retention batch deletes.
PURGE_BATCH = 500


def _of(person: Person) -> QuerySet[Mention]:
    by_author = Q()
    for channel_id, external_id in person.identities:
        by_author |= Q(channel_id=channel_id, author_external_id=external_id)
    match = Q(conversation_id__in=person.conversation_ids)
    if person.identities:
        match |= by_author
    return Mention.objects.filter(workspace_id=person.workspace_id).filter(match)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "id": m.pk,
            "search": m.search.name,
            "platform": m.channel.platform,
            "url": m.url,
            "author_name": m.author_name,
            "author_handle": m.author_handle,
            "text": m.text,
            "language": m.language,
            "sentiment": m.sentiment,
            "published_at": _when(m.published_at),
            "found_at": _when(m.found_at),
        }
        for m in _of(person).select_related("search", "channel").order_by("id")
    ]


def _bury(mentions: list[Mention]) -> None:
    now = clock.now()
    Tombstone.objects.bulk_create(
        [
            Tombstone(channel_id=m.channel_id, external_id=m.external_id, deleted_at=now)
            for m in mentions
            if m.external_id
        ],
        ignore_conflicts=True,
    )


def erase(person: Person) -> int:
    mentions = list(_of(person).only("id", "channel_id", "external_id"))
    _bury(mentions)
    Mention.objects.filter(pk__in=[m.pk for m in mentions]).delete()
    return len(mentions)


def purge(workspace_id: int, cutoff: datetime) -> int:
    mentions = list(
        Mention.objects.filter(workspace_id=workspace_id, published_at__lt=cutoff)
        .only("id", "channel_id", "external_id")
        .order_by("id")[:PURGE_BATCH]
    )
    _bury(mentions)
    Mention.objects.filter(pk__in=[m.pk for m in mentions]).delete()
    return len(mentions)


KEEPER = Keeper(name="mentions", export=export, erase=erase, purge=purge)
