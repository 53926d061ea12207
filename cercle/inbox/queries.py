"""Reads of the inbox, always scoped by workspace: the list and its filters, counts, the timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date

from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.inbox.choices import ConversationKind, Direction, Enrichment, Kind, OutboxState, Status
from cercle.inbox.collision import PRESENCE_TTL_SECONDS, TYPING_TTL_SECONDS
from cercle.inbox.models import Conversation, Draft, Message, Outbox, Presence, Tag
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity, Member

from .search import conversation_search_filter

PAGE_SIZE = 50
# "All open", "Mine" and "Unassigned" show conversations that still wait for the team.
OPEN_STATUSES = (Status.NEW, Status.OPEN)
# The same, as the literal condition of the partial index conv_open_sort_idx (migration 0010):
# SQLite uses a partial index only when the query states its condition with the same literal
# values (bound parameters do not count). Constants of the code, no user input.
OPEN_STATUS_SQL = Func(
    F("status"),
    template="%(expressions)s IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")",
    output_field=BooleanField(),
)

# The views of the left pane: name → (status filter, assignee filter).
VIEWS: dict[str, tuple[tuple[str, ...], str]] = {
    "open": (OPEN_STATUSES, "any"),
    "mine": (OPEN_STATUSES, "me"),
    "unassigned": (OPEN_STATUSES, "none"),
    "pending": ((Status.PENDING,), "any"),
    "snoozed": ((Status.SNOOZED,), "any"),
    "closed": ((Status.CLOSED,), "any"),
    "all": (tuple(Status.values), "any"),
}
SORTS = ("waiting", "newest", "priority")
# Activity verbs that already show as a message in the timeline.
VERBS_SHOWN_AS_MESSAGES = {
    Verb.RECEIVED,
    Verb.REPLIED,
    Verb.NOTE_ADDED,
    Verb.CLASSIFIED,
    Verb.DELIVERED,
}
# Filter names kept in the URL (shareable views).
FILTER_KEYS = (
    "view",
    "status",
    "channel",
    "platform",
    "kind",
    "language",
    "assignee",
    "tag",
    "sentiment",
    "intent",
    "needs_reply",
    "from",
    "to",
    "q",
    "scope",
    "sort",
)
# Where a search looks: all history (every status, every assignee) unless the user narrows it.
SEARCH_ALL = "all"
SEARCH_IN_VIEW = "view"


# Ids the database can hold (a signed 64-bit integer): a larger one crashes the query.
MAX_ID = 2**63 - 1
# Deeper pages than this are empty anyway; the bound keeps OFFSET within an integer.
MAX_PAGE = 1_000_000


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and abs(number) <= MAX_ID else None


@dataclass
class InboxFilters:
    """What the list shows; parsed from (and written back to) the URL's query string."""

    view: str = "open"
    status: str = ""
    channel: int | None = None
    platform: str = ""
    kind: str = ""
    language: str = ""
    assignee: str = ""  # "me", "none", "any" or a member id
    tag: int | None = None
    sentiment: str = ""  # a label of the classifiers (moderation.choices.Sentiment)
    intent: str = ""  # moderation.choices.Intent
    needs_reply: str = ""  # "yes", "no" or "" (either)
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    scope: str = SEARCH_ALL
    sort: str = "waiting"
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryDict) -> InboxFilters:
        """Parse GET parameters; anything malformed is ignored rather than refused."""
        view = query.get("view", "open")
        sort = query.get("sort", "waiting")
        status = query.get("status", "")
        return cls(
            view=view if view in VIEWS else "open",
            status=status if status in Status.values else "",
            channel=_int_or_none(query.get("channel")),
            # PostgreSQL refuses NUL in text parameters (a 500): drop it.
            platform=query.get("platform", "").replace("\x00", "")[:32],
            kind=query.get("kind", "") if query.get("kind", "") in Kind.values else "",
            language=query.get("language", "").replace("\x00", "")[:8],
            assignee=query.get("assignee", "")[:12],
            tag=_int_or_none(query.get("tag")),
            sentiment=_label(query.get("sentiment")),
            intent=_label(query.get("intent")),
            needs_reply=query.get("needs_reply", "") if query.get("needs_reply") in YES_NO else "",
            date_from=parse_date(query.get("from", "")) if _is_date(query.get("from")) else None,
            date_to=parse_date(query.get("to", "")) if _is_date(query.get("to")) else None,
            q=query.get("q", "")[:200].replace("\x00", "").strip(),
            scope=SEARCH_IN_VIEW if query.get("scope") == SEARCH_IN_VIEW else SEARCH_ALL,
            sort=sort if sort in SORTS else "waiting",
            page=min(MAX_PAGE, max(1, _int_or_none(query.get("page")) or 1)),
        )

    def params(self, **overrides: Any) -> dict[str, str]:
        """The non-default filters as URL parameters (page excluded unless overridden)."""
        values: dict[str, Any] = {
            "view": "" if self.view == "open" else self.view,
            "status": self.status,
            "channel": self.channel or "",
            "platform": self.platform,
            "kind": self.kind,
            "language": self.language,
            "assignee": self.assignee,
            "tag": self.tag or "",
            "sentiment": self.sentiment,
            "intent": self.intent,
            "needs_reply": self.needs_reply,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "scope": self.scope if self.q and self.scope != SEARCH_ALL else "",
            "sort": "" if self.sort == "waiting" else self.sort,
        }
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def querystring(self, **overrides: Any) -> str:
        return urlencode(self.params(**overrides))

    @property
    def is_filtered(self) -> bool:
        """Whether anything beyond the chosen view narrows the list."""
        return bool(set(self.params()) - {"view", "sort", "scope"})

    @property
    def is_narrowed(self) -> bool:
        """Whether a filter the user chose (status, channel, date…) narrows a search."""
        return bool(set(self.params()) - {"view", "sort", "scope", "q"})

    @property
    def searches_all_history(self) -> bool:
        """A search the user has not narrowed to the current view: every status, every assignee."""
        return bool(self.q) and self.scope == SEARCH_ALL


YES_NO = ("yes", "no")
_LABEL = re.compile(r"^[a-z_]{1,32}$")


def _label(value: str | None) -> str:
    """A classifier's label as the URL gives it (lower-case letters), else no filter."""
    return value if value and _LABEL.match(value) else ""


def _is_date(value: str | None) -> bool:
    try:
        day = parse_date(value or "") if value else None
    except ValueError:
        return False
    # The first and last years cannot be turned into a day's start and end in every time zone.
    return day is not None and 1 < day.year < 9999


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def filtered_conversations(member: Member, filters: InboxFilters) -> QuerySet[Conversation]:
    """The workspace's conversations matching `filters`, unsorted."""
    qs = Conversation.objects.filter(workspace_id=member.workspace_id)
    statuses, assignee = VIEWS[filters.view]
    if filters.searches_all_history:
        # "Search all history": the view's own limits (its statuses, "mine") do not apply;
        # the filters the user chose (status, assignee, channel…) still narrow it.
        statuses, assignee = tuple(Status.values), "any"
    qs = _filter_status(qs, filters.status, statuses)
    qs = _filter_assignee(qs, member, filters.assignee or assignee)
    for lookup, value in _field_lookups(filters):
        if value:
            qs = qs.filter(**{lookup: value})
    if filters.tag:
        # A subquery rather than a join: no duplicate rows (so no DISTINCT), and the database
        # may walk the list in its order checking each row, or read the tag's few rows first.
        tagged = Conversation.tags.through.objects.filter(tag_id=filters.tag)
        qs = qs.filter(pk__in=tagged.values("conversation_id"))
    qs = _filter_labels(qs, filters)
    qs = _filter_arrival(qs, filters.date_from, filters.date_to)
    if filters.q:
        condition = conversation_search_filter(member.workspace_id, filters.q)
        if condition is not None:
            qs = qs.filter(condition)
    return qs


def _filter_status(
    qs: QuerySet[Conversation], status: str, view_statuses: tuple[str, ...]
) -> QuerySet[Conversation]:
    """The status the user chose, else the view's statuses (no filter when they are all)."""
    if status:
        return qs.filter(status=status)
    if set(view_statuses) == set(OPEN_STATUSES):
        # Literal values, not parameters: the partial index conv_open_sort_idx serves it.
        return qs.filter(OPEN_STATUS_SQL)
    if set(view_statuses) != set(Status.values):
        return qs.filter(status__in=view_statuses)
    return qs


def _filter_assignee(
    qs: QuerySet[Conversation], member: Member, assignee: str
) -> QuerySet[Conversation]:
    """`me`, `none`, a member id, or anything else (`any`, malformed): no filter."""
    if assignee == "me":
        return qs.filter(assignee_id=member.pk)
    if assignee == "none":
        return qs.filter(assignee__isnull=True)
    if (member_id := _int_or_none(assignee)) is not None:
        return qs.filter(assignee_id=member_id)
    return qs


def _field_lookups(filters: InboxFilters) -> tuple[tuple[str, object], ...]:
    """The filters that narrow by equality on one field: (lookup, value), unset when falsy."""
    return (
        ("channel_id", filters.channel),
        ("channel__platform", filters.platform),
        ("last_kind", filters.kind),
        ("language", filters.language),
    )


def _filter_labels(qs: QuerySet[Conversation], filters: InboxFilters) -> QuerySet[Conversation]:
    """What the classifiers read in the community's messages: a conversation with an inbound
    message of that sentiment, of that intent; "needs a reply": someone waits and a message
    they wait on needs an answer (or is not labelled yet); "no": someone waits, but only on
    messages that need none (a "thanks!")."""
    inbound = Message.objects.filter(conversation_id=OuterRef("pk"), direction=Direction.INBOUND)
    if filters.sentiment:
        qs = qs.filter(Exists(inbound.filter(sentiment=filters.sentiment)))
    if filters.intent:
        qs = qs.filter(Exists(inbound.filter(intent=filters.intent)))
    if filters.needs_reply:
        waited_on = inbound.filter(sent_at__gte=OuterRef("waiting_since")).exclude(
            needs_reply=False
        )
        qs = qs.filter(waiting_since__isnull=False)
        qs = (
            qs.filter(Exists(waited_on))
            if filters.needs_reply == "yes"
            else qs.exclude(Exists(waited_on))
        )
    return qs


def _filter_arrival(
    qs: QuerySet[Conversation], date_from: date | None, date_to: date | None
) -> QuerySet[Conversation]:
    """From/To is about when the community wrote: the latest arrival, not our own activity."""
    bounds: dict[str, datetime] = {}
    if date_from:
        bounds["arrived__gte"] = _day_start(date_from)
    if date_to:
        bounds["arrived__lt"] = _day_start(date_to + timedelta(days=1))
    if not bounds:
        return qs
    return qs.alias(arrived=Coalesce("last_inbound_at", "created_at")).filter(**bounds)


def in_list(member: Member, filters: InboxFilters, conversation: Conversation) -> bool:
    """Whether `conversation` belongs to the list drawn with `filters` (after an action changed it)."""
    return filtered_conversations(member, filters).filter(pk=conversation.pk).exists()


def closed_only(filters: InboxFilters) -> bool:
    """Whether the list holds closed conversations only (the closed view, or status=closed)."""
    if filters.status:
        return filters.status == Status.CLOSED
    return not filters.searches_all_history and VIEWS[filters.view][0] == (Status.CLOSED,)


def _sorted(
    qs: QuerySet[Conversation], sort: str, *, closed: bool = False
) -> QuerySet[Conversation]:
    if sort == "newest" or (closed and sort == "waiting"):
        # Closed conversations wait for nobody (no waiting_since): the most recent first, which
        # the index conv_ws_status_activity_id_idx serves without sorting.
        return qs.order_by("-last_activity_at", "-id")
    if sort == "priority":
        return qs.order_by("-priority", "sla_due_at", "waiting_since", "id")
    # Who waits for an answer first, answered conversations (no waiting_since) after them;
    # among those waiting, most urgent first (the classifiers set priority: a toxic complaint
    # before praise), then oldest waiting first. An answered conversation keeps its priority
    # (a model never lowers it), so priority alone would put it above one still waiting.
    # "Answered last" is written (waiting_since IS NULL): the indexes conv_open_sort_idx and
    # conv_status_sort_idx (migration 0013) hold that order on both databases, where SQLite
    # cannot index NULLS LAST.
    return qs.order_by(
        ExpressionWrapper(Q(waiting_since__isnull=True), output_field=BooleanField()).asc(),
        "-priority",
        F("waiting_since").asc(),
        F("last_activity_at").desc(nulls_last=True),
        "id",
    )


@dataclass
class ListPage:
    """One page of the list."""

    rows: list[Conversation]
    page: int
    has_next: bool
    filters: InboxFilters
    latest_activity_id: int = 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1


# What a list row never shows of the rows it joins (secrets, JSON to decode, dates to parse):
# not read (`inbox_rows.RowRenderer` draws a row from the rest, with no query).
_ROW_UNUSED = (
    "thread_key",
    "first_response_at",
    "snoozed_until",
    "channel__config",
    "channel__credentials_token",
    "channel__verify_token",
    "channel__cursor",
    "channel__health_detail",
    "channel__uuid",
    "channel__external_id",
    "channel__last_polled_at",
    "channel__next_poll_at",
    "channel__unknown_account_last",
    "channel__unknown_account_last_at",
    "channel__created_at",
    "contact__avatar_url",
    "contact__created_at",
    "assignee__languages",
    "assignee__skills",
    "assignee__notifications",
    "assignee__deactivated_at",
    "assignee__availability_changed_at",
    "assignee__last_assigned_at",
    "assignee__created_at",
    "assignee__user__password",
    "assignee__user__last_login",
    "assignee__user__date_joined",
)


def conversation_page(member: Member, filters: InboxFilters) -> ListPage:
    """One page (PAGE_SIZE rows) of the filtered, sorted list, with what each row shows."""
    qs = _sorted(filtered_conversations(member, filters), filters.sort, closed=closed_only(filters))
    offset = (filters.page - 1) * PAGE_SIZE
    rows: list[Conversation] = list(
        qs.select_related("channel", "contact", "assignee__user")
        .defer(*_ROW_UNUSED)
        # The workspace's newest Activity id (the side counts' version, the "new" banner's
        # start), read in the same round trip: an uncorrelated subquery, run once.
        .annotate(workspace_latest_activity=Subquery(_latest_activity(member.workspace_id)))[
            offset : offset + PAGE_SIZE + 1
        ]
    )
    latest = (
        int(getattr(rows[0], "workspace_latest_activity", None) or 0)
        if rows
        else latest_activity_id(member.workspace_id)
    )
    mark_loading(rows[:PAGE_SIZE])
    return ListPage(
        rows=rows[:PAGE_SIZE],
        page=filters.page,
        has_next=len(rows) > PAGE_SIZE,
        filters=filters,
        latest_activity_id=latest,
    )


def new_since(member: Member, filters: InboxFilters, after_activity_id: int) -> int:
    """How many conversations in the current filters received something after that activity id."""
    received = Activity.objects.filter(
        workspace_id=member.workspace_id, verb=Verb.RECEIVED, id__gt=after_activity_id
    ).values("conversation_id")
    return filtered_conversations(member, filters).filter(pk__in=received).distinct().count()


@dataclass
class ChannelView:
    channel: Channel
    open_count: int


@dataclass
class ViewCounts:
    counts: dict[str, int]
    channels: list[ChannelView] = field(default_factory=list)


# The workspace-wide side counts (views pane, per-channel open counts, languages seen) cost a
# scan of every conversation: they are computed once per workspace and kept in the cache
# (settings.CACHES, a shared one such as Redis in production) under a key that carries the
# workspace's latest Activity id. Every write records an Activity, so a change makes the next
# page recompute them; the short life bounds what a write without one could leave stale.
SIDE_COUNTS_TTL_SECONDS = 30


@dataclass(frozen=True)
class SideCounts:
    """What the side panes show of the whole workspace, computed in three grouped queries."""

    by_status: dict[str, int]
    # Open (new or open) conversations per assignee id (None: unassigned) and per channel id.
    open_by_assignee: dict[int | None, int]
    open_by_channel: dict[int, int]
    languages: tuple[str, ...]


def _latest_activity(workspace_id: int) -> QuerySet[Activity, Any]:
    """The workspace's newest Activity id, as a query (an index lookup: activity_ws_id_idx)."""
    return Activity.objects.filter(workspace_id=workspace_id).order_by("-id").values("id")[:1]


def latest_activity_id(workspace_id: int) -> int:
    """The workspace's newest Activity id (an index lookup: activity_ws_id_idx)."""
    found = _latest_activity(workspace_id).first()
    return int(found["id"]) if found else 0


def _compute_side_counts(workspace_id: int) -> SideCounts:
    convs = Conversation.objects.filter(workspace_id=workspace_id)
    by_status = dict(
        convs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    open_convs = convs.filter(status__in=OPEN_STATUSES).order_by()
    by_assignee: dict[int | None, int] = dict(
        open_convs.values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    by_channel = dict(
        open_convs.values_list("channel_id").annotate(n=Count("id")).values_list("channel_id", "n")
    )
    languages = tuple(
        convs.exclude(language="")
        .values_list("language", flat=True)
        .order_by("language")
        .distinct()[:50]
    )
    return SideCounts(by_status, by_assignee, by_channel, languages)


def side_counts(workspace_id: int, activity_id: int | None = None) -> SideCounts:
    """The workspace's side counts, from the cache while no Activity was recorded since."""
    if activity_id is None:
        activity_id = latest_activity_id(workspace_id)
    key = f"cercle:inbox:side-counts:{workspace_id}"
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == activity_id:
        found: SideCounts = cached[1]
        return found
    counts = _compute_side_counts(workspace_id)
    cache.set(key, (activity_id, counts), SIDE_COUNTS_TTL_SECONDS)
    return counts


def view_counts(
    member: Member, activity_id: int | None = None, channels: list[Channel] | None = None
) -> ViewCounts:
    """Counts of the left pane's views and per-channel open counts (cached, see side_counts).

    `channels`: the workspace's channels when the caller has read them already (by name).
    """
    side = side_counts(member.workspace_id, activity_id)
    status = side.by_status
    counts = {
        "open": sum(status.get(s, 0) for s in OPEN_STATUSES),
        "mine": side.open_by_assignee.get(member.pk, 0),
        "unassigned": side.open_by_assignee.get(None, 0),
        "pending": status.get(Status.PENDING, 0),
        "snoozed": status.get(Status.SNOOZED, 0),
        "closed": status.get(Status.CLOSED, 0),
    }
    if channels is None:
        channels = workspace_channels(member)
    return ViewCounts(
        counts=counts,
        channels=[
            ChannelView(c, side.open_by_channel.get(c.pk, 0)) for c in channels if c.is_active
        ],
    )


def workspace_channels(member: Member) -> list[Channel]:
    """The workspace's channels, by name (what the filters and the views pane list)."""
    return list(Channel.objects.filter(workspace_id=member.workspace_id).order_by("name"))


def conversation_for(member: Member, pk: int) -> Conversation:
    """The conversation `pk` of the member's workspace, or 404 (another workspace's id is a 404)."""
    try:
        return (
            Conversation.objects.select_related("channel", "contact", "post", "assignee__user")
            .prefetch_related("tags")
            .get(pk=pk, workspace_id=member.workspace_id)
        )
    except Conversation.DoesNotExist as exc:
        raise Http404 from exc


def message_for(member: Member, pk: int) -> Message:
    try:
        return Message.objects.select_related("channel", "conversation", "author_identity").get(
            pk=pk, workspace_id=member.workspace_id
        )
    except Message.DoesNotExist as exc:
        raise Http404 from exc


def outbox_for(member: Member, pk: int) -> Outbox:
    try:
        return Outbox.objects.get(pk=pk, workspace_id=member.workspace_id)
    except Outbox.DoesNotExist as exc:
        raise Http404 from exc


def tag_for(member: Member, pk: int) -> Tag:
    try:
        return Tag.objects.get(pk=pk, workspace_id=member.workspace_id)
    except Tag.DoesNotExist as exc:
        raise Http404 from exc


def member_for(member: Member, pk: int) -> Member:
    try:
        return Member.objects.select_related("user").get(pk=pk, workspace_id=member.workspace_id)
    except Member.DoesNotExist as exc:
        raise Http404 from exc


def mark_loading(rows: list[Conversation]) -> None:
    """Set `is_loading` on conversations with an item still being fetched (at most one query
    per page, none when every row has a preview).

    The list shows "loading…" instead of an empty preview; a row with a preview shows it
    whatever is loading, so only the rows without one are looked up.
    """
    empty = [c.pk for c in rows if not c.preview]
    loading = (
        set(
            Message.objects.filter(
                conversation_id__in=empty, enrichment=Enrichment.LOADING
            ).values_list("conversation_id", flat=True)
        )
        if empty
        else set()
    )
    for conversation in rows:
        conversation.is_loading = conversation.pk in loading  # type: ignore[attr-defined]  # display-only flag


@dataclass
class TimelineItem:
    """A message or an activity, in time order."""

    kind: str  # "message" or "activity"
    when: datetime
    message: Message | None = None
    activity: Activity | None = None
    failed_outbox_id: int | None = None
    # Moderation done on the platform ("like", "ban"…) and asked but not done yet.
    moderated: frozenset[str] = frozenset()
    moderation_pending: frozenset[str] = frozenset()
    author_banned: bool = False
    # The moderation buttons this item offers (set by the view: platform and permissions).
    actions: list[str] = field(default_factory=list)
    # The comment a reply answers, when it is another conversation's (another author's).
    parent: Message | None = None
    # For a note: the handles it mentions (highlighted), from its Activity row.
    mentions: tuple[str, ...] = ()


def parents_elsewhere(conversation: Conversation, messages: list[Message]) -> dict[str, Message]:
    """The items that `messages` reply to and that this conversation does not hold, by external id.

    A reply to another author's comment threads into the replier's conversation:
    without its parent, the team would read an answer to a question it cannot see.
    One query, scoped to the conversation's channel (so to its workspace).
    """
    here = {m.external_id for m in messages if m.external_id}
    wanted = {
        m.parent_external_id
        for m in messages
        if m.direction == Direction.INBOUND
        and m.parent_external_id
        and m.parent_external_id not in here
    }
    if not wanted:
        return {}
    return {
        p.external_id or "": p
        for p in Message.objects.filter(
            channel_id=conversation.channel_id, external_id__in=sorted(wanted)
        ).select_related("author_identity", "author_member__user", "conversation__contact")
    }


def reply_target_deleted(conversation: Conversation) -> bool:
    """Whether every community item of a public conversation was deleted: nothing to reply to."""
    if conversation.kind == ConversationKind.PRIVATE:
        return False
    inbound = conversation.messages.filter(direction=Direction.INBOUND)
    return inbound.exists() and not inbound.filter(deleted_at__isnull=True).exists()


# A long conversation opens on its latest messages; older ones come a page at a time.
TIMELINE_PAGE_SIZE = 100


@dataclass
class TimelinePage:
    """Part of a conversation's timeline, oldest first, and how many messages come before it."""

    items: list[TimelineItem]
    earlier: int = 0
    first_message_id: int | None = None


def timeline(
    conversation: Conversation,
    *,
    before: int | None = None,
    full: bool = False,
    since: int | None = None,
) -> TimelinePage:
    """Messages (inbound, outbound, notes) and activities of a conversation, oldest first.

    The latest TIMELINE_PAGE_SIZE messages (all of them when `full`) older than the
    message `before` (when given), and the activities of the same stretch of time.
    With `since`, every message from that one on: a live refresh keeps the earlier
    pages the member opened.
    """
    limit = None if full or since is not None else TIMELINE_PAGE_SIZE
    base = conversation.messages.select_related("author_identity", "author_member__user")
    if before is not None:
        base = base.filter(id__lt=before)
    if since is not None:
        messages = list(base.filter(id__gte=since).order_by("id"))
        if not messages:
            return timeline(conversation)
        earlier = base.filter(id__lt=messages[0].pk).count()
        activities = conversation.activities.exclude(verb__in=VERBS_SHOWN_AS_MESSAGES)
        if earlier:
            activities = activities.filter(created_at__gte=min(m.when for m in messages))
        items = _timeline_items(
            conversation, messages, list(activities.select_related("actor__user").order_by("id"))
        )
        return TimelinePage(items=items, earlier=earlier, first_message_id=messages[0].pk)
    if limit is None:
        messages = list(base.order_by("id"))
    else:
        messages = list(base.order_by("-id")[:limit])[::-1]
    earlier = (
        base.filter(id__lt=messages[0].pk).count()
        if limit is not None and len(messages) == limit
        else 0
    )
    activities = conversation.activities.exclude(verb__in=VERBS_SHOWN_AS_MESSAGES)
    if earlier:
        activities = activities.filter(created_at__gte=min(m.when for m in messages))
    if before is not None:
        upper = conversation.messages.filter(pk=before).first()
        if upper is not None:
            activities = activities.filter(created_at__lt=upper.when)
    items = _timeline_items(
        conversation, messages, list(activities.select_related("actor__user").order_by("id"))
    )
    return TimelinePage(
        items=items, earlier=earlier, first_message_id=messages[0].pk if messages else None
    )


def _timeline_items(
    conversation: Conversation, messages: list[Message], activities: list[Activity]
) -> list[TimelineItem]:
    failed = dict(
        Outbox.objects.filter(
            conversation_id=conversation.pk,
            state=OutboxState.FAILED,
            message__direction=Direction.OUTBOUND,
        ).values_list("message_id", "id")
    )
    parents = parents_elsewhere(conversation, messages)
    done, asked, banned = _moderation_state(conversation, messages)
    mentions = note_mentions(conversation)
    items = chain(
        (
            TimelineItem(
                "message",
                m.when,
                message=m,
                failed_outbox_id=failed.get(m.pk),
                parent=parents.get(m.parent_external_id) if m.parent_external_id else None,
                moderated=frozenset(done.get(m.pk, ())),
                moderation_pending=frozenset(asked.get(m.pk, set()) - done.get(m.pk, set())),
                author_banned=m.author_identity_id in banned,
                mentions=mentions.get(m.pk, ()),
            )
            for m in messages
        ),
        (TimelineItem("activity", a.created_at, activity=a) for a in activities),
    )
    return sorted(items, key=lambda i: i.when)


def note_mentions(conversation: Conversation) -> dict[int, tuple[str, ...]]:
    """The handles each note of the conversation mentions, by note id (one query)."""
    rows = conversation.activities.filter(
        verb=Verb.NOTE_ADDED, message_id__isnull=False, data__has_key="mentions"
    ).values_list("message_id", "data")
    found: dict[int, tuple[str, ...]] = {}
    for message_id, data in rows:
        mentions = data.get("mentions") if isinstance(data, dict) else None
        if isinstance(mentions, list):
            found[message_id] = tuple(
                str(m["handle"]) for m in mentions if isinstance(m, dict) and m.get("handle")
            )
    return found


def _moderation_state(
    conversation: Conversation, messages: list[Message]
) -> tuple[dict[int, set[str]], dict[int, set[str]], set[int]]:
    """Per message, the moderation done and asked; and the authors banned (in any conversation)."""
    done: dict[int, set[str]] = {}
    asked: dict[int, set[str]] = {}
    rows = Activity.objects.filter(
        conversation_id=conversation.pk,
        verb__in=(Verb.MODERATED, Verb.MODERATION_REQUESTED),
        message__isnull=False,
    ).values_list("message_id", "verb", "data")
    for message_id, verb, data in rows:
        action = str(data.get("action", "")) if isinstance(data, dict) else ""
        target = done if verb == Verb.MODERATED else asked
        target.setdefault(message_id, set()).add(action)
    authors = {m.author_identity_id for m in messages if m.author_identity_id}
    # The latest ban or unban of each author wins (an unbanned author is no longer banned).
    latest: dict[int, str] = {}
    bans = (
        Activity.objects.filter(
            workspace_id=conversation.workspace_id,
            verb=Verb.MODERATED,
            data__action__in=("ban", "unban"),
            message__author_identity_id__in=authors,
        )
        .order_by("id")
        .values_list("message__author_identity_id", "data")
    )
    for author, data in bans:
        latest[author] = str(data.get("action", "")) if isinstance(data, dict) else ""
    banned = {author for author, action in latest.items() if action == "ban"}
    return done, asked, banned


def other_conversations(conversation: Conversation, limit: int = 10) -> list[Conversation]:
    """The contact's other conversations, most recent first."""
    return list(
        Conversation.objects.filter(
            workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
        )
        .exclude(pk=conversation.pk)
        .select_related("channel")
        .order_by("-last_activity_at")[:limit]
    )


def contact_moderation(conversation: Conversation, limit: int = 8) -> list[Activity]:
    """What the team (or its rules) asked the platforms to do to this contact's messages."""
    conversations = Conversation.objects.filter(
        workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
    ).values("pk")
    return list(
        Activity.objects.filter(
            workspace_id=conversation.workspace_id,
            conversation_id__in=conversations,
            verb=Verb.MODERATION_REQUESTED,
        )
        .select_related("actor__user")
        .order_by("-id")[:limit]
    )


def workspace_members(member: Member) -> list[Member]:
    return list(
        Member.objects.filter(workspace_id=member.workspace_id, is_active=True)
        .select_related("user")
        .order_by("id")
    )


def workspace_tags(member: Member) -> list[Tag]:
    return list(Tag.objects.filter(workspace_id=member.workspace_id).order_by("name"))


def filter_choices(
    member: Member, activity_id: int | None = None, channels: list[Channel] | None = None
) -> dict[str, list[Any]]:
    """Values offered by the filter form: channels, platforms, languages, tags, members."""
    if channels is None:
        channels = workspace_channels(member)
    languages = list(side_counts(member.workspace_id, activity_id).languages)
    return {
        "channels": channels,
        "platforms": sorted({c.platform for c in channels}),
        "languages": languages,
        "tags": workspace_tags(member),
        "members": workspace_members(member),
    }


# --- who else is here: presence and drafts (collision detection) ------------------------


@dataclass
class Awareness:
    """The other members around one conversation now: viewing it, typing in it, with a draft."""

    viewing: list[Member] = field(default_factory=list)
    typing: list[Member] = field(default_factory=list)
    drafting: list[Member] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.viewing or self.drafting)

    @property
    def people(self) -> list[Around]:
        """One entry per member, with all they are doing here (what the templates show)."""
        seen: dict[int, Around] = {}
        for someone in [*self.viewing, *self.drafting]:
            seen.setdefault(
                someone.pk,
                Around(
                    member=someone,
                    viewing=someone in self.viewing,
                    typing=someone in self.typing,
                    drafting=someone in self.drafting,
                ),
            )
        return list(seen.values())


@dataclass(frozen=True)
class Around:
    """One other member around a conversation."""

    member: Member
    viewing: bool
    typing: bool
    drafting: bool


def awareness(
    member: Member, conversation_ids: list[int], now: datetime | None = None
) -> dict[int, Awareness]:
    """For each conversation of the member's workspace in `conversation_ids`, who else is there.

    A presence counts while its heartbeat is younger than the time-to-live; typing a
    little less long; a draft until it is sent or discarded. The member is left out.
    """
    ids = sorted({int(i) for i in conversation_ids})[:200]
    result: dict[int, Awareness] = {i: Awareness() for i in ids}
    if not ids:
        return result
    now = now or clock.now()
    people = {
        m.pk: m
        for m in Member.objects.filter(workspace_id=member.workspace_id, is_active=True)
        .exclude(pk=member.pk)
        .select_related("user")
    }
    presences = (
        Presence.objects.filter(
            workspace_id=member.workspace_id,
            conversation_id__in=ids,
            seen_at__gte=now - timedelta(seconds=PRESENCE_TTL_SECONDS),
        )
        .exclude(member_id=member.pk)
        .order_by("member_id")
        .values_list("conversation_id", "member_id", "typing_at")
    )
    typing_since = now - timedelta(seconds=TYPING_TTL_SECONDS)
    for conversation_id, member_id, typing_at in presences:
        someone = people.get(member_id)
        if someone is None or conversation_id is None:
            continue
        here = result[conversation_id]
        if someone not in here.viewing:
            here.viewing.append(someone)
        if typing_at is not None and typing_at >= typing_since and someone not in here.typing:
            here.typing.append(someone)
    drafts = (
        Draft.objects.filter(workspace_id=member.workspace_id, conversation_id__in=ids)
        .exclude(member_id=member.pk)
        .order_by("member_id")
        .values_list("conversation_id", "member_id")
    )
    for conversation_id, member_id in drafts:
        someone = people.get(member_id)
        if someone is not None:
            result[conversation_id].drafting.append(someone)
    return result


def draft_for(member: Member, conversation: Conversation) -> Draft | None:
    """The member's own draft of this conversation, or None."""
    return Draft.objects.filter(
        workspace_id=member.workspace_id, member=member, conversation_id=conversation.pk
    ).first()


__all__ = ["PAGE_SIZE", "Awareness", "InboxFilters", "ListPage"]
