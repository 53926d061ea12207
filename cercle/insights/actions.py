"""Writes of the insights app: goals and personas (managers only), each with an Activity row;
the rollups of the dashboard (derived data, kept by a drain)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate, TruncHour
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.inbox.choices import ACTIVE_STATUSES, Direction, Priority
from cercle.inbox.models import Conversation, Message
from cercle.replies.models import SavedReply
from cercle.workflow.models import SlaPolicy
from cercle.workflow.sla import Clock
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import AutomationKind, Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from . import personas, rollup
from .models import (
    WITHIN_KPIS,
    CommunityProfile,
    DailyRollup,
    Goal,
    GoalWatch,
    Kpi,
    MessageRollup,
    Persona,
    PersonaMember,
    PostRollup,
    RollupCursor,
    RollupState,
    TermRollup,
    VolumeRollup,
    WaitRecord,
)
from .personas import clean_conditions, matching_contacts


def _log(workspace: Workspace, actor: Actor, what: str, **data: Any) -> None:
    Activity.objects.create(
        workspace=workspace,
        verb=Verb.WORKSPACE_CHANGED,
        data={"setting": what, **data},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_save_goal(actor: Actor, workspace: Workspace, goal: Goal) -> Goal:
    """Create or change a goal (built by a form); its owner must be of the workspace."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if goal.pk is not None and goal.workspace_id != workspace.pk:
        raise Goal.DoesNotExist
    if goal.owner is not None and goal.owner.workspace_id != workspace.pk:
        raise Goal.DoesNotExist
    goal.workspace = workspace
    goal.name = goal.name[:120]
    goal.full_clean()
    with transaction.atomic():
        goal.save()
        _log(workspace, actor, "goal", **goal.describe())
    return goal


def do_delete_goal(actor: Actor, goal: Goal) -> None:
    require(actor, Permission.MANAGE_WORKFLOW, goal.workspace_id)
    with transaction.atomic():
        _log(goal.workspace, actor, "goal_deleted", **goal.describe())
        goal.delete()


def do_save_persona(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    description: str,
    conditions: list[dict[str, Any]],
    persona: Persona | None = None,
) -> Persona:
    """Create or change a persona; its conditions are checked before anything is written."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if persona is not None and persona.workspace_id != workspace.pk:
        raise Persona.DoesNotExist
    row = persona or Persona(workspace=workspace)
    row.name, row.description = name[:120], description[:4000]
    row.conditions = clean_conditions(conditions)
    # Its contacts as the worker kept them belong to the old conditions: counted again.
    row.members_at, row.members_kept = None, False
    row.full_clean(exclude=["workspace"])
    with transaction.atomic():
        PersonaMember.objects.filter(persona_id=row.pk).delete()
        row.save()
        _log(workspace, actor, "persona", id=row.pk, name=row.name)
    return row


def personas_to_count(now: datetime) -> list[Persona]:
    """The personas the worker has not counted for `personas.KEEP_EVERY` (or since saved)."""
    return list(
        Persona.objects.filter(
            Q(members_at__isnull=True) | Q(members_at__lt=now - personas.KEEP_EVERY)
        )
        .select_related("workspace")
        .order_by("members_at", "id")
    )


def do_count_persona_members(persona: Persona, now: datetime) -> bool:
    """Count the contacts `persona` holds now and time it; keep them (`PersonaMember`) when
    that took longer than `personas.keep_slower_than()`, else keep nothing (the figures then
    evaluate it live). Derived data, like the rollups: no Activity row. Whether it was kept."""
    started = time.perf_counter()
    ids = sorted(
        matching_contacts(persona.workspace, persona.conditions, now).values_list("pk", flat=True)
    )
    kept = time.perf_counter() - started > personas.keep_slower_than()
    with transaction.atomic():
        current = Persona.objects.select_for_update().filter(pk=persona.pk).first()
        if current is None or current.conditions != persona.conditions:
            return False  # deleted or changed meanwhile: its next count will do
        PersonaMember.objects.filter(persona=current).delete()
        if kept:
            insert_rows(PersonaMember, [PersonaMember(persona=current, contact_id=i) for i in ids])
        current.members_at, current.members_kept = now, kept
        current.save(update_fields=["members_at", "members_kept"])
    return bool(kept)


def do_delete_persona(actor: Actor, persona: Persona) -> None:
    require(actor, Permission.MANAGE_WORKFLOW, persona.workspace_id)
    with transaction.atomic():
        _log(persona.workspace, actor, "persona_deleted", id=persona.pk, name=persona.name)
        persona.delete()


# --- goals raising priority -------------------------------------------------------------------

# How often a workspace's goals are checked for conversations that endanger them.
GOAL_CHECK_EVERY = timedelta(minutes=5)
# A wait endangers a goal from this share of the goal's delay on (before it is missed).
DANGER_SHARE = 0.5
# The KPIs a waiting conversation can endanger.
WAIT_KPIS = (Kpi.ANSWERED_WITHIN, Kpi.QUESTIONS_ANSWERED_WITHIN, Kpi.MEDIAN_FIRST_RESPONSE)


def endangering(goal: Goal, now: datetime, clock_: Clock) -> list[Conversation]:
    """The conversations waiting for their first answer that will break `goal` soon: they have
    waited `DANGER_SHARE` of its delay (in its clock) and not yet all of it; below high priority.
    For the questions' goal, only conversations with a question."""
    limit = _limit(goal)
    if limit <= timedelta(0):
        return []
    waiting = Conversation.objects.filter(
        workspace_id=goal.workspace_id,
        status__in=ACTIVE_STATUSES,
        waiting_since__isnull=False,
        first_response_at__isnull=True,
        priority__lt=Priority.HIGH,
    )
    if goal.kpi == Kpi.QUESTIONS_ANSWERED_WITHIN:
        waiting = waiting.filter(
            messages__direction=Direction.INBOUND, messages__intent="question"
        ).distinct()
    if not goal.business_hours:
        # Around the clock the window is a plain range of start times: the database filters.
        waiting = waiting.filter(
            waiting_since__lte=now - limit * DANGER_SHARE, waiting_since__gt=now - limit
        )
    found = []
    for conversation in waiting.order_by("waiting_since", "id")[:500]:
        since = conversation.waiting_since or now
        elapsed = clock_.working_time_between(since, now) if goal.business_hours else now - since
        if limit * DANGER_SHARE <= elapsed < limit:
            found.append(conversation)
    return found


def do_prioritise_for_goals(workspace: Workspace, now: datetime | None = None) -> int:
    """Raise to high the priority of the waiting conversations that endanger an at-risk goal,
    with a Cercle automation actor named after the goal (logged like a person's change).
    Returns how many conversations were raised."""
    from cercle.inbox.actions import do_set_priority

    from . import queries
    from .goals import Status, goal_status

    now = now or clock.now()
    GoalWatch.objects.update_or_create(workspace=workspace, defaults={"checked_at": now})
    goals = Goal.objects.filter(workspace=workspace, kpi__in=WAIT_KPIS).select_related("workspace")
    clock_, _name = queries.workspace_clock(workspace)
    _hand_back(workspace, {goal.pk: goal for goal in goals}, now, clock_)
    raised: set[int] = set()
    for goal in goals:
        if goal_status(goal, now).status != Status.AT_RISK:
            continue
        actor = Automation(
            workspace_id=workspace.pk,
            kind=AutomationKind.SYSTEM,
            name=_("Goal at risk: %(name)s") % {"name": goal.name},
        )
        for conversation in endangering(goal, now, clock_):
            if conversation.pk in raised:
                continue
            with clock.at(now):
                do_set_priority(actor, conversation, Priority.HIGH, reason=f"goal:{goal.pk}")
            raised.add(conversation.pk)
    return len(raised)


def _hand_back(workspace: Workspace, goals: dict[int, Goal], now: datetime, clock_: Clock) -> int:
    """Give back their former priority to the conversations a goal raised that no longer
    endanger it: answered, no longer waiting, or past the goal's delay (missed: an answer now
    cannot save it). So the goal's high priorities are the few waits still worth saving, not
    every wait that once passed through the danger window. A priority changed since (by a
    person, a rule, an SLA) is left alone. Returns how many were handed back."""
    from cercle.inbox.actions import do_set_priority

    raised = Conversation.objects.filter(workspace=workspace, priority=Priority.HIGH)
    changes = (
        Activity.objects.filter(
            workspace=workspace,
            verb=Verb.PRIORITY_CHANGED,
            conversation_id__in=raised.values("pk"),
        )
        .order_by("conversation_id", "-id")
        .values_list("conversation_id", "data")
    )
    last: dict[int, dict[str, Any]] = {}
    for conversation_id, data in changes:
        last.setdefault(conversation_id, data or {})
    handed = 0
    for conversation in raised.filter(pk__in=list(last)).order_by("pk"):
        data = last[conversation.pk]
        reason = str(data.get("reason", ""))
        if not reason.startswith("goal:"):
            continue
        goal = goals.get(int(reason[5:])) if reason[5:].isdigit() else None
        since = conversation.waiting_since
        still = (
            goal is not None
            and conversation.status in ACTIVE_STATUSES
            and since is not None
            and conversation.first_response_at is None
            and _elapsed_for(goal, since, now, clock_) < _limit(goal)
        )
        if still:
            continue
        name = goal.name if goal is not None else reason
        actor = Automation(
            workspace_id=workspace.pk,
            kind=AutomationKind.SYSTEM,
            name=_("Goal at risk: %(name)s") % {"name": name},
        )
        with clock.at(now):
            do_set_priority(
                actor, conversation, int(data.get("old", Priority.NORMAL)), reason="goal:over"
            )
        handed += 1
    return handed


def _limit(goal: Goal) -> timedelta:
    return timedelta(minutes=float(goal.minutes or 0) if goal.kpi in WITHIN_KPIS else goal.target)


def _elapsed_for(goal: Goal, since: datetime, now: datetime, clock_: Clock) -> timedelta:
    return clock_.working_time_between(since, now) if goal.business_hours else now - since


def goals_to_watch(now: datetime) -> list[Workspace]:
    """The workspaces with a goal a waiting conversation can endanger, not checked lately."""
    recent = GoalWatch.objects.filter(checked_at__gt=now - GOAL_CHECK_EVERY).values("workspace_id")
    ids = (
        Goal.objects.filter(kpi__in=WAIT_KPIS)
        .exclude(workspace_id__in=recent)
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    return list(Workspace.objects.filter(pk__in=list(ids)).order_by("pk"))


# --- community type and its templates ----------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """The items of a proposal the team kept, as it edited them."""

    goals: list[Goal]
    slas: list[SlaPolicy]
    rules: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], str]]
    replies: list[tuple[str, str, dict[str, str]]]  # title, shortcut, versions


def do_apply_community_template(
    actor: Actor, workspace: Workspace, kind: str, chosen: Chosen
) -> CommunityProfile:
    """Say what kind of community the workspace runs and create the chosen goals, SLA
    policies, saved replies and rules through their apps' actions, all or nothing."""
    from cercle.moderation.actions import do_save_rule
    from cercle.replies.actions import do_save_saved_reply
    from cercle.workflow.actions import do_save_sla_policy

    from .community import CommunityType

    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if kind not in CommunityType.values:
        raise ValidationError(_("Unknown kind of community."))
    with transaction.atomic():
        profile, _created = CommunityProfile.objects.update_or_create(
            workspace=workspace, defaults={"kind": kind}
        )
        _log(workspace, actor, "community_type", kind=kind)
        for goal in chosen.goals:
            do_save_goal(actor, workspace, goal)
        for policy in chosen.slas:
            do_save_sla_policy(actor, workspace, policy)
        for title, shortcut, versions in chosen.replies:
            taken = SavedReply.objects.filter(workspace=workspace, shortcut=shortcut).exists()
            do_save_saved_reply(
                actor, workspace, title=title, versions=versions, shortcut="" if taken else shortcut
            )
        for name, conditions, rule_actions, mode in chosen.rules:
            do_save_rule(
                actor, workspace, name=name, conditions=conditions, actions=rule_actions, mode=mode
            )
    return profile


# --- pre-aggregation (the rollup drain; see `insights.rollup`) ---------------------------------

# Activity rows read per pass, and conversations rebuilt per pass of a workspace being rebuilt.
ROLLUP_BATCH = 2000
REBUILD_BATCH = 5000
# A hole in the log (an id that committed late) is read again for this long, then given up.
GAP_PATIENCE = timedelta(minutes=10)
MAX_GAPS = 1000


@dataclass
class RollupReport:
    activities: int = 0
    conversations: int = 0
    days: int = 0

    @property
    def worked(self) -> bool:
        return bool(self.activities or self.conversations)


def _rollup_cursor() -> RollupCursor:
    """The cursor; a new one starts at the log's end (the rebuild of each workspace covers
    what came before)."""
    cursor = RollupCursor.objects.filter(name=rollup.CURSOR).first()
    if cursor is not None:
        return cursor
    last = Activity.objects.aggregate(last=Max("id"))["last"] or 0
    cursor, _created = RollupCursor.objects.get_or_create(
        name=rollup.CURSOR, defaults={"last_id": last}
    )
    return cursor


Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


def do_roll_up(batch: int = ROLLUP_BATCH, progress: Progress = _quiet) -> RollupReport:
    """One pass of the rollup drain: read the next batch of the Activity log, recompute the
    records of the conversations it touched and regroup their days; advance the rebuild of
    workspaces that are new or whose clock changed. Idempotent; writes no Activity row (the
    rollups are derived data, like the crisis pulses)."""
    report = RollupReport()
    _rollup_cursor()
    now = clock.now()
    with transaction.atomic():
        cursor = RollupCursor.objects.select_for_update().get(name=rollup.CURSOR)
        gaps = {int(g[0]): str(g[1]) for g in cursor.gaps if isinstance(g, list) and len(g) == 2}
        rows = list(
            Activity.objects.filter(Q(id__gt=cursor.last_id) | Q(id__in=list(gaps)))
            .order_by("id")
            .values_list("id", "workspace_id", "conversation_id", "message_id", "verb")[:batch]
        )
        seen = {row[0] for row in rows}
        last = max((pk for pk in seen if pk > cursor.last_id), default=cursor.last_id)
        for missing in range(cursor.last_id + 1, last):
            if len(gaps) >= MAX_GAPS:
                break
            if missing not in seen:
                gaps[missing] = now.isoformat()
        cursor.gaps = [
            [pk, since]
            for pk, since in sorted(gaps.items())
            if pk not in seen and datetime.fromisoformat(since) > now - GAP_PATIENCE
        ]
        cursor.last_id = last
        cursor.save(update_fields=["last_id", "gaps"])
        report.activities = len(rows)

        touched: dict[int, set[int]] = defaultdict(set)
        received: dict[int, set[int]] = defaultdict(set)
        rewritten: dict[int, set[int]] = defaultdict(set)
        rebuild: set[int] = set()
        for _pk, workspace_id, conversation_id, message_id, verb in rows:
            if verb in rollup.REBUILD_VERBS:
                rebuild.add(workspace_id)
            if conversation_id is not None and verb in rollup.TRIGGER_VERBS:
                touched[workspace_id].add(conversation_id)
            if verb in rollup.MESSAGE_VERBS and message_id is not None:
                received[workspace_id].add(message_id)
            if verb in rollup.TEXT_VERBS and message_id is not None:
                rewritten[workspace_id].add(message_id)
        for workspace in Workspace.objects.order_by("id"):
            _roll_up_workspace(
                workspace,
                touched.get(workspace.pk, set()),
                received.get(workspace.pk, set()),
                rewritten.get(workspace.pk, set()),
                workspace.pk in rebuild,
                report,
                progress,
            )
    return report


def _roll_up_workspace(
    workspace: Workspace,
    touched: set[int],
    received: set[int],
    rewritten: set[int],
    rebuild: bool,
    report: RollupReport,
    progress: Progress = _quiet,
) -> None:
    from . import queries

    clock_, _name = queries.workspace_clock(workspace)
    key = rollup.clock_key(workspace, clock_)
    state, _created = RollupState.objects.select_for_update().get_or_create(workspace=workspace)
    if rebuild or state.clock_key != key:
        WaitRecord.objects.filter(workspace=workspace).delete()
        DailyRollup.objects.filter(workspace=workspace).delete()
        VolumeRollup.objects.filter(workspace=workspace).delete()
        PostRollup.objects.filter(workspace=workspace).delete()
        MessageRollup.objects.filter(workspace=workspace).delete()
        TermRollup.objects.filter(workspace=workspace).delete()
        state.clock_key, state.ready, state.rebuilt_upto = key, False, 0
    tz = ZoneInfo(workspace.timezone)
    volume_days: set[date] = set()
    term_days: set[date] = set()
    # While a workspace is rebuilt its days are grouped once, when the scan ends (its rollups
    # are not read before): a day's records are not regrouped at every batch that touches it.
    finishing = False
    if not state.ready:
        # Conversations past the scan are computed whole when the scan reaches them.
        touched = {pk for pk in touched if pk <= state.rebuilt_upto}
        scanned = list(
            Conversation.objects.filter(workspace=workspace, pk__gt=state.rebuilt_upto)
            .order_by("pk")
            .values_list("pk", flat=True)[:REBUILD_BATCH]
        )
        touched.update(scanned)
        if scanned:
            state.rebuilt_upto = scanned[-1]
        else:
            _rebuild_volume(workspace, tz, progress)
            state.ready = finishing = True
    elif received:
        sent = Message.objects.filter(workspace=workspace, pk__in=received)
        when_sent = dict(sent.values_list("pk", "sent_at"))
        volume_days = {rollup.local_day(when, tz) for when in when_sent.values() if when}
        term_days = {
            rollup.local_day(when, tz)
            for pk, when in when_sent.items()
            if when is not None and pk in rewritten
        }
    state.save()
    grouping = state.ready and not finishing
    if touched:
        report.days += _recompute_conversations(workspace, touched, clock_, tz, grouping)
        report.conversations += len(touched)
    if finishing:
        days = WaitRecord.objects.filter(workspace=workspace).values_list("day", flat=True)
        every_day = set(days.distinct().order_by())
        progress(f"workspace {workspace.pk}: grouping the waits of {len(every_day)} days")
        rollup.regroup_days(workspace.pk, every_day)
        report.days += len(every_day)
    for day in sorted(volume_days):
        _recompute_volume(workspace, tz, day, day + timedelta(days=1))
    for day in sorted(term_days):
        _recount_terms(workspace, tz, day, day + timedelta(days=1))


def insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert unsaved rows of a rollup table in one `executemany`: the rebuild writes a million
    of them, and `bulk_create` spends more time preparing each value than the database takes to
    store it. Only plain columns (numbers, text, booleans, dates and datetimes; no JSON)."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    adapters: list[Callable[[Any], Any]] = []
    for f in fields:
        internal = f.get_internal_type()
        if internal == "DateTimeField":
            adapters.append(ops.adapt_datetimefield_value)
        elif internal == "DateField":
            adapters.append(ops.adapt_datefield_value)
        elif internal == "JSONField":
            raise TypeError(f"{model.__name__}.{f.name}: JSON columns go through bulk_create")
        else:
            adapters.append(lambda value: value)
    columns = ", ".join(ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (the model's names)
    attnames = [f.attname for f in fields]
    values = [
        [adapt(getattr(row, name)) for adapt, name in zip(adapters, attnames, strict=True)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(values), 5000):
            cursor.executemany(sql, values[start : start + 5000])


def _recompute_conversations(
    workspace: Workspace, ids: set[int], clock_: Clock, tz: ZoneInfo, regroup: bool = True
) -> int:
    from . import queries

    # By conversation alone (the ids are the workspace's): SQLite would walk the workspace's
    # records by day otherwise.
    old = WaitRecord.objects.filter(conversation_id__in=ids)
    days = set(old.values_list("day", flat=True).distinct())
    old.delete()
    history = queries.history_of_conversations(workspace, ids)
    facts = queries.rollup_facts(workspace, ids)
    records = rollup.records_of(workspace, history, facts, clock_, tz)
    insert_rows(WaitRecord, records)
    days.update(r.day for r in records)
    if regroup:
        rollup.regroup_days(workspace.pk, days)
    return len(days)


def _rebuild_volume(workspace: Workspace, tz: ZoneInfo, progress: Progress = _quiet) -> None:
    VolumeRollup.objects.filter(workspace=workspace).delete()
    PostRollup.objects.filter(workspace=workspace).delete()
    MessageRollup.objects.filter(workspace=workspace).delete()
    TermRollup.objects.filter(workspace=workspace).delete()
    progress(f"workspace {workspace.pk}: counting the messages per day (grouped by the database)")
    _recompute_volume(workspace, tz, None, None)
    progress(f"workspace {workspace.pk}: counting the terms of the messages, day by day")
    _recount_terms(workspace, tz, None, None, progress)


def _recompute_volume(
    workspace: Workspace, tz: ZoneInfo, first: date | None, end: date | None
) -> None:
    """Count the inbound messages of the local days [first, end) (all when None) per hour and
    channel, and per post with their labels."""
    query = Message.objects.filter(
        workspace=workspace, direction=Direction.INBOUND, sent_at__isnull=False
    )
    if first is not None and end is not None:
        VolumeRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end).delete()
        PostRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end).delete()
        MessageRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end).delete()
        query = query.filter(
            sent_at__gte=rollup.day_start(first, tz), sent_at__lt=rollup.day_start(end, tz)
        )
    _store_counts(
        workspace,
        VolumeRollup,
        query,
        tz,
        {"channel_id": "channel_id"},
        hourly=True,
        sums={"needing": Count("id", filter=~Q(needs_reply=False))},
    )
    _store_counts(
        workspace,
        PostRollup,
        query.filter(conversation__post__isnull=False),
        tz,
        {
            "post_id": "conversation__post_id",
            "kind": "kind",
            "intent": "intent",
            "sentiment": "sentiment",
        },
    )
    _store_counts(
        workspace,
        MessageRollup,
        query,
        tz,
        {
            "channel_id": "channel_id",
            "kind": "kind",
            "intent": "intent",
            "sentiment": "sentiment",
            "rating": "rating",
        },
    )


def _store_counts(
    workspace: Workspace,
    model: type[VolumeRollup | PostRollup | MessageRollup],
    query: QuerySet[Message],
    tz: ZoneInfo,
    columns: dict[str, str],
    hourly: bool = False,
    sums: dict[str, Count] | None = None,
) -> None:
    """Count the messages of `query` per local day (and hour when `hourly`) and the given
    columns (the rollup's field → the query's column; a text column's NULL is stored empty),
    grouped by the database, and store one `model` row per group (with the counts of `sums`)."""
    sums = sums or {}
    trunc = TruncHour("sent_at", tzinfo=tz) if hourly else TruncDate("sent_at", tzinfo=tz)
    grouped = (
        query.annotate(local=trunc)
        .values("local", *columns.values())
        .annotate(n=Count("id"), **sums)
    )
    text = {
        name for name in columns if model._meta.get_field(name).get_internal_type() == "CharField"
    }
    counts: Counter[tuple[Any, ...]] = Counter()
    extra: dict[str, Counter[tuple[Any, ...]]] = {name: Counter() for name in sums}
    for row in grouped.order_by():
        local = row["local"]
        # Two UTC hours can fall in one local hour (the autumn clock change): summed.
        when = (local.astimezone(tz).date(), local.astimezone(tz).hour) if hourly else (local,)
        values = tuple(
            (row[column] or "") if name in text else row[column] for name, column in columns.items()
        )
        counts[when + values] += row["n"]
        for name, counter in extra.items():
            counter[when + values] += row[name]
    names = ["day", "hour", *columns] if hourly else ["day", *columns]
    insert_rows(
        model,
        [
            model(
                workspace=workspace,
                count=n,
                **dict(zip(names, key, strict=True)),
                **{name: counter[key] for name, counter in extra.items()},
            )
            for key, n in counts.items()
        ],
    )


def _recount_terms(
    workspace: Workspace,
    tz: ZoneInfo,
    first: date | None,
    end: date | None,
    progress: Progress = _quiet,
) -> int:
    """Count the terms of the inbound messages of the local days [first, end) (all when None),
    keeping the most frequent of each day and language (`trends.TERMS_PER_DAY`); rows written.
    The words are cut in Python (the database cannot), one day at a time."""
    from .trends import day_terms

    start = stop = None
    if first is not None and end is not None:
        TermRollup.objects.filter(workspace=workspace, day__gte=first, day__lt=end).delete()
        start, stop = rollup.day_start(first, tz), rollup.day_start(end, tz)
    batch: list[TermRollup] = []
    written = 0
    for (day, language), terms in day_terms(workspace, start, stop, tz):
        batch.append(
            TermRollup(
                workspace=workspace, day=day, language=language, term="", count=terms.messages
            )
        )
        batch.extend(
            TermRollup(
                workspace=workspace,
                day=day,
                language=language,
                term=term,
                label=label[:200],
                count=n,
            )
            for term, label, n in terms.kept()
        )
        if len(batch) >= 5000:
            progress(f"workspace {workspace.pk}: terms counted up to {day}")
            insert_rows(TermRollup, batch)
            written += len(batch)
            batch = []
    insert_rows(TermRollup, batch)
    return written + len(batch)
