"""The shapes of the API's requests and responses (the OpenAPI document is built from them).

No schema carries a secret: channels show neither credentials nor configuration,
tokens never show their secret after creation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from ninja import Field, Schema

from cercle.inbox.choices import Status
from cercle.insights.models import Kpi

StatusName = Literal["new", "open", "pending", "snoozed", "closed"]
ViewName = Literal["open", "mine", "unassigned", "pending", "snoozed", "closed", "all"]
SortName = Literal["waiting", "newest", "priority"]
# The schema follows the model's statuses.
assert set(Status.values) == set(get_args(StatusName))


class Error(Schema):
    detail: str


class Ref(Schema):
    id: int
    name: str


class ChannelRef(Ref):
    platform: str


class TagOut(Schema):
    id: int
    name: str
    color: str


class ConversationOut(Schema):
    id: int
    status: str
    priority: int
    kind: str
    channel: ChannelRef
    contact: Ref
    assignee: Ref | None
    tags: list[TagOut]
    preview: str
    last_kind: str
    language: str
    rating: int | None
    message_count: int
    post_url: str
    waiting_since: datetime | None
    sla_due_at: datetime | None
    first_response_at: datetime | None
    last_inbound_at: datetime | None
    last_activity_at: datetime | None
    snoozed_until: datetime | None
    created_at: datetime


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` to get the next page; null on the last page."
    )


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: str
    kind: str
    is_private: bool
    author: str
    author_member_id: int | None
    author_contact_id: int | None
    text: str
    url: str
    rating: int | None
    language: str
    language_score: float | None = Field(
        None, description="The language model's probability of `language` (0–1); null if unknown"
    )
    sentiment: str
    intent: str
    toxicity: float | None
    delivery: str
    delivery_error: str
    is_hidden: bool
    sent_at: datetime | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class ConversationFilters(Schema):
    """The inbox's filters, with the same names and meanings as the inbox page's URL."""

    view: ViewName = "open"
    status: StatusName | None = None
    channel: int | None = Field(None, ge=1, le=2**63 - 1)
    platform: str | None = Field(None, max_length=32)
    kind: str | None = Field(None, max_length=16)
    language: str | None = Field(None, max_length=8)
    assignee: str | None = Field(
        None, max_length=20, description='"me", "none", "any" or a member id'
    )
    tag: int | None = Field(None, ge=1, le=2**63 - 1)
    date_from: date | None = Field(None, alias="from")
    date_to: date | None = Field(None, alias="to")
    q: str | None = Field(None, max_length=200, description="Full-text search")
    scope: Literal["all", "view"] = Field(
        "all", description='"all": a search looks in all history; "view": only in the view'
    )
    sort: SortName = "waiting"
    cursor: str | None = Field(None, max_length=2000)
    limit: int = Field(50, ge=1, le=200)


class PageParams(Schema):
    cursor: str | None = Field(None, max_length=2000)
    limit: int = Field(50, ge=1, le=200)


class ContactParams(PageParams):
    q: str | None = Field(None, max_length=200, description="Part of the contact's name")


class TextIn(Schema):
    text: str = Field(..., max_length=20_000)


class ReplyIn(TextIn):
    private: bool = Field(
        False, description="Answer a public comment privately (where the platform allows it)"
    )
    seen: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Off by default. The `seen` of the conversation's GET: the reply is stopped "
        "(409, with what changed) when somebody else replied, assigned or changed the status since",
    )


class AssignIn(Schema):
    assignee_id: int | None = Field(
        ..., ge=1, le=2**63 - 1, description="A member of the workspace; null unassigns"
    )


class StatusIn(Schema):
    status: StatusName
    snooze_until: datetime | None = Field(None, description="Required to snooze")


class TagIn(Schema):
    name: str = Field(..., max_length=200)


class IdentityOut(Schema):
    id: int
    channel_id: int
    handle: str
    display_name: str
    profile_url: str


class ContactOut(Schema):
    id: int
    display_name: str
    language: str
    created_at: datetime


class ContactDetail(ContactOut):
    identities: list[IdentityOut]
    conversation_ids: list[int]


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ChannelOut(Schema):
    id: int
    name: str
    platform: str
    health: str
    is_active: bool
    paused_until: datetime | None
    last_polled_at: datetime | None
    created_at: datetime


class RuleOut(Schema):
    id: int
    name: str
    position: int
    mode: str
    stop: bool
    conditions: list[object]
    actions: list[object]
    house_rule: int | None = Field(description="The number of the house rule it enforces")
    hourly_limit: int | None
    created_at: datetime


RuleValue = str | float | bool | list[str] | dict[str, str | float] | None


class RuleConditionIn(Schema):
    field: str = Field(
        ...,
        max_length=40,
        description="channel, platform, kind, language, text_contains, text_matches, sentiment, "
        "intent, toxicity_at_least, first_time_author, author_hidden_at_least, "
        "conversation_status, persona, sentiment_score, intent_score, post, post_text_contains, "
        "author_followers_at_least, in_business_hours",
    )
    value: RuleValue = Field(
        None,
        description="A list for the “one of” fields, a number, a text or a yes/no; "
        '{"label": "negative", "at_least": 0.8} for sentiment_score and intent_score',
    )


class RuleActionIn(Schema):
    type: str = Field(
        ...,
        max_length=40,
        description="tag, assign, assign_team, priority, status, mark_spam, hide, unhide, delete, "
        "ban, reply, saved_reply, notify, webhook",
    )
    value: str = Field("", max_length=4000)
    private: bool = Field(False, description="For a reply: as a private message")


class RuleIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    mode: Literal["live", "suggest", "off"] = "off"
    position: int = Field(0, ge=0, le=10_000)
    stop: bool = Field(False, description="Stop after this rule")
    conditions: list[RuleConditionIn] = Field(..., min_length=1, max_length=30)
    actions: list[RuleActionIn] = Field(..., min_length=1, max_length=20)
    house_rule: int | None = Field(
        None, ge=1, le=10_000, description="The number of the house rule it enforces"
    )


class DryRunOut(Schema):
    weeks: int
    evaluated: int = Field(description="Inbound messages of those weeks")
    hits: int = Field(description="Messages the rule would have acted on")
    team_did: int = Field(description="Messages the team treated (hid, tagged, answered)")
    agreed: int = Field(description="Hits the team also treated")
    precision: float | None
    recall: float | None
    examples: list[int] = Field(description="Ids of messages it would have acted on")


class MemberOut(Schema):
    id: int
    name: str
    role: str
    is_active: bool


class TokenInfo(Schema):
    workspace: str
    member: Ref
    role: str = Field(description="The token's effective role (capped by the member's)")
    expires_at: datetime | None


class SummaryOut(Schema):
    waits: int
    answered: int
    automated: int
    closed_unanswered: int
    answered_share: float | None
    median_seconds: float | None
    p90_seconds: float | None
    median_business_seconds: float | None
    p90_business_seconds: float | None


class BreakdownRow(Schema):
    key: str
    label: str
    summary: SummaryOut


class InsightsOut(Schema):
    start: datetime
    end: datetime
    business_hours: str
    first_response: SummaryOut
    every_response: SummaryOut
    resolution_median_seconds: float | None
    resolution_median_business_seconds: float | None
    breakdowns: dict[str, list[BreakdownRow]]
    daily: list[tuple[str, int]]
    heatmap: list[list[int]] = Field(description="Inbound items per weekday (Monday first) × hour")


# --- the reply's collision check and approvals ---------------------------------------------


class ConversationDetail(ConversationOut):
    seen: int = Field(
        description="What this read saw: pass it as `seen` to a reply to have it stopped (409) "
        "when somebody else replied, assigned or changed the status since"
    )


class ChangeOut(Schema):
    verb: str
    who: str
    when: datetime
    data: dict[str, object]
    excerpt: str


class CollisionOut(Schema):
    detail: str
    changes: list[ChangeOut]
    seen: int = Field(description="Pass it as `seen` to send anyway (unless more changed)")


class PendingReplyOut(Schema):
    id: int
    conversation_id: int
    state: str
    text: str
    is_private: bool
    created_at: datetime


# --- saved replies --------------------------------------------------------------------------


class SavedReplyParams(Schema):
    q: str | None = Field(
        None, max_length=100, description="Part of the title, shortcut or text; a leading / too"
    )


class SavedReplyIn(Schema):
    title: str = Field(..., max_length=120)
    versions: dict[str, str] = Field(
        ...,
        description='The text per language code ({"fr": "Bonjour {contact.first_name}"})',
        max_length=50,
    )
    shortcut: str = Field("", max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)


class SavedReplyOut(Schema):
    id: int
    title: str
    shortcut: str
    tags: list[str]
    usage_count: int
    versions: dict[str, str]
    created_at: datetime
    updated_at: datetime


class RenderParams(Schema):
    conversation_id: int = Field(..., ge=1, le=2**63 - 1)


class RenderedOut(Schema):
    saved_reply_id: int
    conversation_id: int
    language: str
    text: str


# --- personas and goals ------------------------------------------------------------------------


class PersonaIn(Schema):
    name: str = Field(..., max_length=120)
    description: str = Field("", max_length=4000)
    conditions: list[dict[str, object]] = Field(
        default_factory=list,
        max_length=20,
        description='All must hold: {"kind": "language"|"platform"|"tag", "values": [...]}, '
        '{"kind": "activity", "days": N, "min": k}, {"kind": "negative", "percent": x}, '
        '{"kind": "returning", "value": true|false}',
    )


class PersonaOut(Schema):
    id: int
    name: str
    description: str
    conditions: list[dict[str, object]]
    size: int = Field(description="How many contacts it holds now")
    created_at: datetime


KpiName = Literal[
    "answered_within",
    "questions_within",
    "answer_rate",
    "negative_share",
    "median_first_response",
    "returning_growth",
]


class GoalIn(Schema):
    name: str = Field(..., max_length=120)
    kpi: KpiName
    minutes: int | None = Field(
        None, ge=1, le=1_000_000, description="For the “answered within” KPIs"
    )
    business_hours: bool = False
    comparison: Literal["gte", "lte"] = "gte"
    target: float = Field(
        ..., ge=0, le=1_000_000, description="In percent for a share, minutes for a time"
    )
    period: Literal["week", "month", "quarter"] = "month"
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)


class GoalOut(Schema):
    id: int
    name: str
    kpi: str
    minutes: int | None
    business_hours: bool
    comparison: str
    target: float
    period: str
    owner: Ref | None
    created_at: datetime
    start: datetime = Field(description="The current period")
    end: datetime
    value: float | None = Field(description="The KPI over the period so far")
    previous: float | None
    projected: float | None
    status: Literal["on_track", "at_risk", "missed", "met", "no_data"]
    previous_status: Literal["on_track", "at_risk", "missed", "met", "no_data"]


# The schema follows the model's KPIs.
assert set(Kpi.values) == set(get_args(KpiName))
