"""A persona's figures over a period: its size, its response metrics and its heatmap.

The persona's contacts are found once (`personas.persona_contacts`: as the worker kept them,
or its conditions evaluated now). The waits come from the rollups' records (`WaitRecord`,
one per wait, each keeping its conversation's contact) for the whole local days they hold,
and from the raw log for the partial first day and today, as the dashboard reads them; the
heatmap from the period's inbound messages (the time index), kept when their contact is the
persona's. Nothing reads a contact's whole history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from cercle.inbox.choices import Direction
from cercle.inbox.models import Contact, Message

from . import queries, rollup
from .metrics import History, Summary, local_hour, within
from .models import Persona, WaitRecord
from .personas import CHUNK, contacts_of_conversations, persona_contacts
from .queries import EpochSeconds, Period

# Contacts shown by name on the persona's page.
SAMPLE = 20


@dataclass(frozen=True, slots=True)
class PersonaFigures:
    size: int
    # (contact id, name) of the first SAMPLE contacts by name.
    sample: list[tuple[int, str]]
    first: Summary
    every: Summary
    heatmap: list[list[int]]


def persona_figures(persona: Persona, period: Period) -> PersonaFigures:
    workspace = persona.workspace
    tz = ZoneInfo(workspace.timezone)
    contacts = set(persona_contacts(persona, period.end))
    ordered = sorted(contacts)
    names: dict[int, str] = {}
    for at in range(0, len(ordered), CHUNK):
        names.update(
            Contact.objects.filter(pk__in=ordered[at : at + CHUNK]).values_list(
                "pk", "display_name"
            )
        )
    sample = sorted(names.items(), key=lambda item: (item[1], item[0]))[:SAMPLE]
    tallies: rollup.Tallies = defaultdict(rollup.Tally)
    if contacts:
        _tally_waits(persona, period, contacts, tz, tallies)
    first = rollup.summary_of((key, tally) for key, tally in tallies.items() if key.first)
    every = rollup.summary_of(tallies.items())
    return PersonaFigures(len(contacts), sample, first, every, _heatmap(persona, period, contacts))


def _tally_waits(
    persona: Persona, period: Period, contacts: set[int], tz: ZoneInfo, tallies: rollup.Tallies
) -> None:
    workspace = persona.workspace
    clock_, _name = queries.workspace_clock(workspace)
    parts = [(period.start, period.end)]
    if rollup.rollups_usable(workspace, clock_):
        first_day, end_day = rollup.whole_days(period.start, period.end, tz)
        if first_day < end_day:
            records = WaitRecord.objects.filter(
                workspace=workspace,
                metric=WaitRecord.Metric.WAIT,
                day__gte=first_day,
                day__lt=end_day,
            ).only(
                "contact_id",
                "first",
                "state",
                "channel_id",
                "kind",
                "responder_id",
                "question",
                "seconds",
                "business_seconds",
            )
            rollup.tally_records(
                (r for r in records.iterator(chunk_size=5000) if r.contact_id in contacts), tallies
            )
            parts = rollup.edges(period.start, period.end, first_day, end_day, tz)
    for start, end in parts:
        part = Period(start, end)
        history = queries.history(workspace, part)
        owners = contacts_of_conversations({w.conversation_id for w in history.waits})
        waits = [
            w
            for w in within(history.waits, start, end)
            if owners.get(w.conversation_id) in contacts
        ]
        facts = queries.rollup_facts(workspace, {w.conversation_id for w in waits})
        tail = rollup.records_of(workspace, History(waits=waits), facts, clock_, tz)
        rollup.tally_records((r for r in tail if r.metric == WaitRecord.Metric.WAIT), tallies)


def _heatmap(persona: Persona, period: Period, contacts: set[int]) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    if not contacts:
        return grid
    tz = ZoneInfo(persona.workspace.timezone)
    times = (
        Message.objects.filter(
            workspace=persona.workspace,
            direction=Direction.INBOUND,
            sent_at__gte=period.start,
            sent_at__lt=period.end,
        )
        .annotate(epoch=EpochSeconds("sent_at"))
        .values_list("conversation__contact_id", "epoch")
    )
    cache: dict[int, tuple[date, int]] = {}
    for contact_id, epoch in times.iterator(chunk_size=5000):
        if contact_id in contacts and epoch is not None:
            day, hour = local_hour(int(epoch), tz, cache)
            grid[day.weekday()][hour] += 1
    return grid
