"""Which contacts a persona holds, as one queryset (no loop over the contacts in Python).

Each condition becomes a filter on `Contact`: an `Exists` for what their
conversations are (platform, tag, language), for what they wrote about (topics:
the full-text index of the inbox's search finds the messages once) and for their
accounts' follower counts (where the platform gives them), a counting
subquery for what their inbound messages are (activity, negative share) and for
how many conversations they have had (first-time or returning). All conditions
must hold.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.inbox.choices import Direction
from cercle.inbox.models import Contact, Conversation, Identity, Message
from cercle.inbox.search import FTS_TABLE, PG_QUERY, fts5_query, pg_tsquery, search_terms
from cercle.workspaces.models import Workspace

from .models import ConditionKind, Persona, PersonaMember

LIST_KINDS = (
    ConditionKind.LANGUAGE,
    ConditionKind.PLATFORM,
    ConditionKind.TAG,
    ConditionKind.TOPIC,
)


def clean_conditions(raw: Any) -> list[dict[str, Any]]:
    """The conditions in their canonical form, or a ValidationError saying what is wrong."""
    if not isinstance(raw, list):
        raise ValidationError(_("The conditions must be a list."))
    out: list[dict[str, Any]] = []
    for item in raw:
        kind = item.get("kind") if isinstance(item, dict) else None
        try:
            out.append({"kind": kind, **_clean_one(kind, item)})
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(_("A condition is not valid: %(item)s") % {"item": item}) from exc
    return out


def _within(value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ValueError
    return value


def _clean_one(kind: object, item: Any) -> dict[str, Any]:
    """One condition's values, checked (ValueError, KeyError, TypeError when wrong)."""
    if kind in LIST_KINDS:
        values = [str(v).strip()[:60] for v in item["values"] if str(v).strip()]
        if not values:
            raise ValueError
        return {"values": values}
    if kind == ConditionKind.ACTIVITY:
        days = int(_within(int(item["days"]), 1, 366))
        return {"days": days, "min": int(_within(int(item["min"]), 1, 100_000))}
    if kind == ConditionKind.NEGATIVE:
        return {"percent": _within(float(item["percent"]), 0, 100)}
    if kind == ConditionKind.RETURNING:
        return {"value": bool(item["value"])}
    if kind == ConditionKind.FOLLOWERS:
        return {"min": int(_within(int(item["min"]), 1, 10**10))}
    raise ValueError


def _count(query: QuerySet[Any]) -> Coalesce:
    """A per-contact count of `query` (whose rows carry `contact`) as a subquery, 0 when none."""
    counted = query.order_by().values("contact").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _inbound_of_contact() -> QuerySet[Message]:
    return Message.objects.filter(
        conversation__contact=OuterRef("pk"), direction=Direction.INBOUND
    ).annotate(contact=F("conversation__contact"))


def _topic_messages(workspace_id: int, topics: list[str]) -> Q:
    """The messages holding any of `topics` (each a word or a phrase whose words must all be
    there, as prefixes, accents and case ignored, as the inbox's search reads them)."""
    wanted = [search_terms(topic) for topic in topics]
    wanted = [terms for terms in wanted if terms]
    if not wanted:
        return Q(pk__in=[])
    if connection.vendor == "sqlite":
        match = " OR ".join(f"({fts5_query(' '.join(terms))})" for terms in wanted)
        ids = RawSQL(  # noqa: S611 (constant SQL, the words are bound parameters)
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",  # noqa: S608 (constant)
            (match,),
        )
        return Q(pk__in=ids)
    if connection.vendor == "postgresql":
        query = " | ".join(f"({pg_tsquery(terms)})" for terms in wanted)
        ids = RawSQL(  # noqa: S611 (constant SQL, the words are bound parameters)
            "SELECT id FROM inbox_message "  # noqa: S608 (constant expression)
            f"WHERE workspace_id = %s AND search_vector @@ {PG_QUERY}",
            (workspace_id, query),
        )
        return Q(pk__in=ids)
    any_topic = Q(pk__in=[])
    for terms in wanted:
        every_word = Q()
        for term in terms:
            every_word &= Q(text__icontains=term)
        any_topic |= every_word
    return any_topic


def matching_contacts(
    workspace: Workspace, conditions: list[dict[str, Any]], now: datetime
) -> QuerySet[Contact]:
    """The workspace's contacts that meet every condition (an unmerged contact only)."""
    query = Contact.objects.filter(workspace=workspace, merged_into__isnull=True)
    conversations = Conversation.objects.filter(contact=OuterRef("pk"))
    for index, condition in enumerate(conditions):
        kind = condition["kind"]
        name = f"c{index}"
        if kind == ConditionKind.LANGUAGE:
            # A conversation's language is its messages' (the latest one detected): asked of
            # the conversations, not of every message, which for a contact who never wrote
            # it would read the contact's whole history.
            spoken = conversations.filter(language__in=condition["values"])
            query = query.filter(Q(language__in=condition["values"]) | Exists(spoken))
        elif kind == ConditionKind.PLATFORM:
            query = query.filter(
                Exists(conversations.filter(channel__platform__in=condition["values"]))
            )
        elif kind == ConditionKind.TAG:
            query = query.filter(Exists(conversations.filter(tags__name__in=condition["values"])))
        elif kind == ConditionKind.TOPIC:
            about = _inbound_of_contact().filter(_topic_messages(workspace.pk, condition["values"]))
            query = query.filter(Exists(about))
        elif kind == ConditionKind.FOLLOWERS:
            # Where the platform gives it (identities.followers): any of the contact's accounts
            # with at least that many; an unknown count never matches.
            query = query.filter(
                Exists(
                    Identity.objects.filter(contact=OuterRef("pk"), followers__gte=condition["min"])
                )
            )
        elif kind == ConditionKind.ACTIVITY:
            # The contacts among the period's messages (the time index), grouped by the
            # database: a count per contact would read each contact's whole history.
            since = now - timedelta(days=condition["days"])
            active = (
                Message.objects.filter(
                    workspace=workspace,
                    direction=Direction.INBOUND,
                    sent_at__gte=since,
                    sent_at__lt=now,
                    conversation__contact__isnull=False,
                )
                .values("conversation__contact")
                .annotate(n=Count("pk"))
                .filter(n__gte=condition["min"])
                .values("conversation__contact")
            )
            query = query.filter(pk__in=active)
        elif kind == ConditionKind.NEGATIVE:
            judged = _inbound_of_contact().exclude(sentiment="")
            negative = judged.filter(sentiment="negative")
            query = query.alias(
                **{
                    f"{name}_judged": _count(judged),
                    f"{name}_negative": Cast(_count(negative), FloatField()),
                }
            ).filter(
                **{
                    f"{name}_judged__gt": 0,
                    f"{name}_negative__gte": F(f"{name}_judged") * (condition["percent"] / 100),
                }
            )
        elif kind == ConditionKind.RETURNING:
            total = _count(Conversation.objects.filter(contact=OuterRef("pk")))
            query = query.alias(**{name: total})
            query = (
                query.filter(**{f"{name}__gte": 2})
                if condition["value"]
                else query.filter(**{name: 1})
            )
    return query


__all__ = ["clean_conditions", "matching_contacts"]


def contacts_personas(workspace_id: int, contact_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """{contact id: the workspace's personas holding it now}: one query per persona
    (registered in `inbox.segments` for rules, routing and saved replies)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {}
    now = clock.now()
    found: dict[int, set[int]] = {}
    for persona in Persona.objects.filter(workspace_id=workspace_id).only("pk", "conditions"):
        members = matching_contacts(workspace, persona.conditions, now).filter(
            pk__in=list(contact_ids)
        )
        for contact_id in members.values_list("pk", flat=True):
            found.setdefault(contact_id, set()).add(persona.pk)
    return {contact: frozenset(ids) for contact, ids in found.items()}


# A persona whose live evaluation takes longer than `keep_slower_than()` seconds is kept: the
# worker counts its contacts every KEEP_EVERY, and the figures read that count while it is at
# most KEPT_FOR away from the instant they ask about. A faster persona is always evaluated live.
KEEP_EVERY = timedelta(minutes=5)
KEPT_FOR = timedelta(minutes=10)


def keep_slower_than() -> float:
    return float(settings.CERCLE_PERSONA_KEEP_SECONDS)


def persona_contacts(persona: Persona, now: datetime) -> frozenset[int]:
    """The ids of the contacts `persona` holds at `now`: as the worker last counted them when
    it keeps them and that count is recent enough, else its conditions evaluated now."""
    if (
        persona.members_kept
        and persona.members_at is not None
        and abs(now - persona.members_at) <= KEPT_FOR
    ):
        return frozenset(
            PersonaMember.objects.filter(persona=persona).values_list("contact_id", flat=True)
        )
    return frozenset(
        matching_contacts(persona.workspace, persona.conditions, now).values_list("pk", flat=True)
    )


def persona_members(workspace: Workspace, now: datetime) -> list[tuple[Persona, frozenset[int]]]:
    """Each persona of the workspace (by name) with its contacts' ids as of `now`, for the
    figures that group by persona in Python."""
    return [
        (persona, persona_contacts(persona, now))
        for persona in Persona.objects.filter(workspace=workspace)
        .select_related("workspace")
        .order_by("name", "id")
    ]


# Conversation ids looked up per query (below SQLite's limit of bound parameters).
CHUNK = 5000


def contacts_of_conversations(ids: Collection[int]) -> dict[int, int]:
    """{conversation id: its contact's id}, asked by primary key in chunks."""
    ordered = sorted(ids)
    found: dict[int, int] = {}
    for at in range(0, len(ordered), CHUNK):
        found.update(
            Conversation.objects.filter(pk__in=ordered[at : at + CHUNK]).values_list(
                "pk", "contact_id"
            )
        )
    return found


def persona_list(workspace_id: int) -> list[tuple[int, str]]:
    return list(
        Persona.objects.filter(workspace_id=workspace_id)
        .order_by("name", "id")
        .values_list("pk", "name")
    )
