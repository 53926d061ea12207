"""Suggested personas: the active contacts clustered on behaviour, each cluster told as conditions.

Two grouped queries read each active contact's behaviour over the last 30 days
(messages written and their negative share, conversations had, language); k-means (numpy, a
deterministic start) groups them; each group becomes a persona suggestion
whose conditions (activity, returning, negative share, language) describe most
of its members, for a manager to accept and edit.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from cercle.inbox.choices import Direction
from cercle.inbox.models import Contact, Conversation, Message
from cercle.workspaces.models import Workspace

DAYS = 30
MAX_CLUSTERS = 3
# Below this many active contacts, there is nothing worth clustering.
MIN_CONTACTS = 6
# A trait names a cluster when this share of its contacts has it.
MAJORITY = 0.7


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str
    description: str
    conditions: list[dict[str, Any]]
    size: int


def _behaviour(workspace: Workspace, now: datetime) -> list[tuple[str, int, int, int, int]]:
    """(language, recent messages, conversations, judged, negative) of each contact active in
    the last `DAYS` days, its messages and their sentiments counted over those days: grouped
    by the database from the period's messages (the time index), then each active contact's
    conversations counted (the contact index); a count per contact over its whole history
    would read the whole log."""
    recent = (
        Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=now - timedelta(days=DAYS),
            sent_at__lt=now,
            conversation__contact__merged_into__isnull=True,
        )
        .values_list("conversation__contact_id")
        .annotate(
            n=Count("id"),
            judged=Count("id", filter=~Q(sentiment="")),
            negative=Count("id", filter=Q(sentiment="negative")),
        )
        .order_by()
    )
    counts = {contact: (n, judged, negative) for contact, n, judged, negative in recent}
    if not counts:
        return []
    talks = dict(
        Conversation.objects.filter(contact_id__in=list(counts))
        .values_list("contact_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    languages = dict(Contact.objects.filter(pk__in=list(counts)).values_list("pk", "language"))
    return [
        (languages.get(contact, ""), n, talks.get(contact, 0), judged, negative)
        for contact, (n, judged, negative) in sorted(counts.items())
    ]


def _kmeans(points: np.ndarray, k: int, rounds: int = 25) -> np.ndarray:
    """Labels of `points` in `k` clusters, started at quantiles of the first feature."""
    order = np.argsort(points[:, 0], kind="stable")
    centres = points[order[[int(i * (len(points) - 1) / max(k - 1, 1)) for i in range(k)]]]
    labels = np.zeros(len(points), dtype=int)
    for _round in range(rounds):
        distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = distances.argmin(axis=1)
        moved = np.array(
            [
                points[labels == i].mean(axis=0) if (labels == i).any() else centres[i]
                for i in range(k)
            ]
        )
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def suggest_personas(workspace: Workspace, now: datetime) -> list[Suggestion]:
    rows = _behaviour(workspace, now)
    if len(rows) < MIN_CONTACTS:
        return []
    negative = [n / j if j else 0.0 for _l, _r, _c, j, n in rows]
    points = np.array(
        [
            [math.log1p(r), math.log1p(c), s]
            for (_l, r, c, _j, _n), s in zip(rows, negative, strict=True)
        ]
    )
    spread = points.std(axis=0)
    points = (points - points.mean(axis=0)) / np.where(spread > 0, spread, 1)
    labels = _kmeans(points, min(MAX_CLUSTERS, len(rows)))
    out = []
    for label in sorted(set(labels.tolist())):
        members = [i for i, value in enumerate(labels.tolist()) if value == label]
        out.append(_describe([rows[i] for i in members], [negative[i] for i in members]))
    return sorted(out, key=lambda s: -s.size)


def _describe(rows: list[tuple[str, int, int, int, int]], negative: list[float]) -> Suggestion:
    size = len(rows)
    recent = sorted(r for _l, r, _c, _j, _n in rows)
    least = max(1, recent[size // 4])
    returning = sum(1 for row in rows if row[2] > 1) / size
    conditions: list[dict[str, Any]] = [{"kind": "activity", "days": DAYS, "min": least}]
    traits = [
        _("active (%(least)s+ messages in 30 days)") % {"least": least}
        if least > 1
        else _("occasional")
    ]
    if returning >= MAJORITY:
        conditions.append({"kind": "returning", "value": True})
        traits.append(_("returning"))
    elif returning <= 1 - MAJORITY:
        conditions.append({"kind": "returning", "value": False})
        traits.append(_("first-time"))
    critical = sorted(negative)[size // 4]
    if critical >= 0.3:
        percent = round(critical * 100)
        conditions.append({"kind": "negative", "percent": percent})
        traits.append(_("critical (%(percent)s %% negative or more)") % {"percent": percent})
    language, count = Counter(row[0] for row in rows).most_common(1)[0]
    if language and count / size >= MAJORITY:
        conditions.append({"kind": "language", "values": [language]})
        traits.append(language)
    name = ", ".join(traits)
    description = _(
        "Suggested from %(size)s contacts who behave alike. Say who they are, what motivates "
        "them and why they joined."
    ) % {"size": size}
    return Suggestion(name[:1].upper() + name[1:], description, conditions, size)


__all__ = ["Suggestion", "suggest_personas"]
