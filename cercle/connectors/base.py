"""The connector interface shared by every platform.

A connector turns a platform's wire format into typed `Incoming` items and
`OutboundAction`s into platform calls, and nothing else: it never writes
domain rows (actions do) and core code never tests a platform's name (it asks
for `capabilities`). See DESIGN.md §4 and docs/connectors.md.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpRequest, HttpResponse

from cercle.core.redact import redact

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from .http import PlatformHttp
    from .models import Channel


class Capability(enum.StrEnum):
    """What a channel of a platform can do; the UI and the rules offer only these."""

    WEBHOOK = "webhook"  # the platform pushes events to /hooks/<channel-uuid>
    POLL = "poll"  # the platform must be (or may be, as a catch-up) polled
    OAUTH = "oauth"  # connect through an OAuth flow
    REPLY = "reply"  # public reply to an item
    PRIVATE_REPLY = "private_reply"  # private message in answer to a public item
    SEND_PRIVATE = "send_private"  # message in a private thread
    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"
    BAN = "ban"
    UNBAN = "unban"  # lift a ban (or block) the team put on an author
    LIKE = "like"
    SEARCH = "search"  # public search of the platform (listening, `Connector.search`)
    # Fetch the details (text, link, publication time) of the brand's posts that arrived
    # bare, by id (`Connector.post_details`): a comment's webhook often names only its post.
    POST_DETAILS = "post_details"


class Op(enum.StrEnum):
    UPSERT = "upsert"  # a new item, or an edit of a known one
    DELETE = "delete"  # the item was deleted on the platform


class ActionKind(enum.StrEnum):
    """Outbound actions; each needs the Capability of the same name."""

    REPLY = "reply"
    PRIVATE_REPLY = "private_reply"
    SEND_PRIVATE = "send_private"
    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"
    BAN = "ban"
    UNBAN = "unban"
    LIKE = "like"


# Actions on an item already on the platform (as opposed to writing a new one), in the order
# the conversation's moderation buttons show them.
MODERATION_ACTIONS = (
    ActionKind.LIKE,
    ActionKind.HIDE,
    ActionKind.UNHIDE,
    ActionKind.DELETE,
    ActionKind.BAN,
    ActionKind.UNBAN,
)
# Item kinds (inbox Kind values) that get no moderation unless a connector says otherwise:
# a private message or a review cannot be hidden, and banning its author is rarely possible.
KINDS_WITHOUT_DEFAULT_MODERATION = frozenset({"message", "review"})


# --- inbound -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote an item, as the platform tells it."""

    external_id: str
    name: str = ""
    handle: str = ""
    avatar_url: str = ""
    profile_url: str = ""
    followers: int | None = None  # where the platform's payload tells it


@dataclass(frozen=True, slots=True)
class PostRef:
    """The brand's content an item hangs under."""

    external_id: str
    text: str = ""
    url: str = ""
    thumbnail_url: str = ""
    published_at: datetime | None = None


# The `kind` of an Incoming that only tells about one of the brand's own posts (a Page's
# `feed` webhook for its new post): its `post` is stored (blanks filled), no message is.
POST_KIND = "post"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One platform item, typed and validated; the only thing core code reads of a payload.

    Threading (done by the inbox, not here): `thread_ref` puts the item into a
    private thread; otherwise a comment or reply goes to the thread of its
    author under `post`; a review or a mention without a post is its own
    conversation.
    """

    external_id: str
    kind: str  # inbox.choices.Kind value: comment, reply, mention, share, message, review
    op: Op = Op.UPSERT
    author: Author | None = None
    text: str = ""
    sent_at: datetime | None = None
    post: PostRef | None = None
    parent_external_id: str = ""
    thread_ref: str = ""  # the platform's id of a private thread
    is_private: bool = False
    rating: int | None = None  # 1..5 for reviews
    url: str = ""
    # The brand itself wrote it (an echo of our own reply): matched, never shown as inbound.
    from_brand: bool = False
    # The platform holds it hidden / for review.
    is_hidden: bool = False
    # When the platform says this state of the item came to be (the edit, hide or
    # creation time of this delivery: Meta's `entry.time`, YouTube's `updatedAt`…);
    # None when it does not say. Deliveries are applied only when newer than what
    # is stored: by this time where both have one, else by arrival order.
    changed_at: datetime | None = None
    # The delivery carries ids only (Instagram mention webhooks): the item is stored
    # as "loading" and the pipeline's enrich step fetches it with `Connector.enrich`.
    needs_enrichment: bool = False
    # Sent by a machine (e-mail `Auto-Submitted`, `Precedence: bulk`…): rules and
    # auto-replies must never answer it, or two robots answer each other forever.
    auto_submitted: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One page of polled items and the cursor to store with them (in one transaction)."""

    items: list[Incoming]
    cursor: str | None
    # Raw page kept as a RawEvent for audit/replay (bytes as received).
    raw: bytes = b""
    has_more: bool = False
    # When to poll next (a quota plan, a reset); None: after the channel's poll interval.
    next_poll_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RawEventData:
    """What a connector's `parse` sees of a stored RawEvent: bytes and headers, nothing else."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str = "webhook"


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What a listening search asks, platform-neutral; each connector writes its platform's query.

    Terms are trimmed and non-empty; a term of several words is a phrase, "#x" a hashtag.
    """

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


def or_queries(
    terms: SearchTerms,
    *,
    max_length: int,
    exclude: Callable[[str], str] | None = None,
    language: Callable[[str], str] | None = None,
) -> list[str]:
    """Queries in the common boolean syntax: `a "b c" (x OR y) -n lang:fr`, as few as fit.

    Phrases are quoted. The "any of" terms are OR-ed in one group; when the query
    would exceed `max_length`, the group is split over as many queries as needed.
    `exclude` writes a "none of" term (X: `-term`), `language` one language
    condition (X: `lang:fr`); without them those parts are left to the caller's matcher.
    """

    def term(text: str) -> str:
        bare = text.replace('"', " ").strip()
        return f'"{" ".join(bare.split())}"' if len(bare.split()) > 1 else bare

    fixed = [term(t) for t in terms.all_of if t.strip()]
    tail: list[str] = []
    if exclude is not None:
        tail += [exclude(term(t)) for t in terms.none_of if t.strip()]
    if language is not None and terms.languages:
        langs = [language(code) for code in terms.languages]
        tail.append(langs[0] if len(langs) == 1 else "(" + " OR ".join(langs) + ")")

    def compose(group: list[str]) -> str:
        middle = group[0] if len(group) == 1 else "(" + " OR ".join(group) + ")" if group else ""
        return " ".join(p for p in [*fixed, middle, *tail] if p)

    alternatives = [term(t) for t in terms.any_of if t.strip()]
    if not alternatives:
        return [compose([])] if fixed else []
    queries: list[str] = []
    group: list[str] = []
    for alt in alternatives:
        if group and len(compose([*group, alt])) > max_length:
            queries.append(compose(group))
            group = []
        group.append(alt)
    queries.append(compose(group))
    return queries


# --- outbound ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundAction:
    """One thing to do on a platform; serialised into the Outbox row's payload."""

    kind: ActionKind
    idempotency_key: str
    target_external_id: str = ""  # the item answered / hidden / deleted
    text: str = ""
    thread_ref: str = ""  # private thread to write in
    author_external_id: str = ""  # whose account to ban / message privately
    post_external_id: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "idempotency_key": self.idempotency_key,
            "target_external_id": self.target_external_id,
            "text": self.text,
            "thread_ref": self.thread_ref,
            "author_external_id": self.author_external_id,
            "post_external_id": self.post_external_id,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OutboundAction:
        return cls(
            kind=ActionKind(payload["kind"]),
            idempotency_key=str(payload["idempotency_key"]),
            target_external_id=str(payload.get("target_external_id", "")),
            text=str(payload.get("text", "")),
            thread_ref=str(payload.get("thread_ref", "")),
            author_external_id=str(payload.get("author_external_id", "")),
            post_external_id=str(payload.get("post_external_id", "")),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """The platform's answer to an outbound action: the id (and link) of what it created."""

    platform_id: str = ""
    url: str = ""


# --- errors: what a failure means for the outbox and the channel's health ------


class ConnectorError(Exception):
    """Base of every error a connector raises; `detail` is shown to the team."""

    def __init__(self, detail: str = "") -> None:
        # A platform's error may quote what it received (a URL with its token, a header):
        # every known secret and credential-shaped value is taken out (core.redact).
        detail = redact(detail)
        super().__init__(detail)
        self.detail = detail


class BadSignature(ConnectorError):
    """The webhook's signature or handshake token is wrong: 403, nothing stored."""


class BadPayload(ConnectorError):
    """The payload cannot be understood: 400 at the hook, or a failed RawEvent."""


class TransientError(ConnectorError):
    """Try again later with backoff (5xx, connection reset before sending)."""


class RateLimited(ConnectorError):
    """429 or exhausted quota: nothing for this channel before `retry_at`."""

    def __init__(self, detail: str = "", retry_at: datetime | None = None) -> None:
        super().__init__(detail)
        self.retry_at = retry_at


class UnknownResult(ConnectorError):
    """The request may or may not have taken effect (timeout after sending): reconcile before retrying."""


class PermissionDenied(ConnectorError):
    """The token lacks a permission or the item cannot be acted on: fail, channel degraded."""


class NotAvailable(PermissionDenied):
    """The account's plan or access level does not include this feature (X search on a plan
    without it): not a failure to retry, a state to show until the plan changes."""


class TokenRevoked(ConnectorError):
    """The credentials are no longer valid: channel needs re-auth, items stay queued."""


class Rejected(ConnectorError):
    """The platform refused this action for good (validation, item gone): fail, no retry."""


# --- the connector -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """Credentials obtained from an OAuth exchange or refresh, stored encrypted on the channel."""

    credentials: dict[str, Any]
    expires_at: datetime | None = None
    # The account the token belongs to, when the exchange tells it.
    account_id: str = ""
    account_name: str = ""


@dataclass(frozen=True, slots=True)
class SetupField:
    """A value typed in the "Add channel" form of a platform connected without OAuth.

    Secret fields are stored encrypted in the channel's credentials, others in its config.
    """

    name: str
    label: StrOrPromise
    secret: bool = False
    url: bool = False
    required: bool = True
    help_text: StrOrPromise = ""


class Connector(ABC):
    """One platform's adapter. Instantiated per channel with the shared HTTP client."""

    platform: ClassVar[str]
    label: ClassVar[StrOrPromise]  # shown to people (translatable)
    capabilities: ClassVar[frozenset[Capability]]
    # Longest text the platform accepts in a reply (shown in the reply box).
    max_reply_length: ClassVar[int] = 5000
    # Fields of the manual connection form (platforms without Capability.OAUTH).
    setup_fields: ClassVar[tuple[SetupField, ...]] = ()
    # Seconds between two polls (Capability.POLL) unless the channel's config sets `poll_interval`.
    default_poll_seconds: ClassVar[float] = 60
    # Which moderation actions apply to which item kind (inbox Kind values), for the
    # platforms that differ from the default of `moderation_actions`. Always within
    # `capabilities`: {"review": frozenset({ActionKind.DELETE})} offers Delete on reviews.
    moderation_by_kind: ClassVar[Mapping[str, frozenset[ActionKind]]] = {}

    def __init__(self, channel: Channel, http: PlatformHttp) -> None:
        self.channel = channel
        self.http = http

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @classmethod
    def moderation_actions(cls, kind: str, *, is_private: bool = False) -> frozenset[ActionKind]:
        """The moderation actions that apply to an item of `kind` on this platform.

        What `moderation_by_kind` declares for the kind; otherwise every moderation
        capability on a public item, and none on a private message or a review.
        """
        possible = frozenset(
            a for a in MODERATION_ACTIONS if Capability(str(a)) in cls.capabilities
        )
        if kind in cls.moderation_by_kind:
            return possible & cls.moderation_by_kind[kind]
        if is_private or kind in KINDS_WITHOUT_DEFAULT_MODERATION:
            return frozenset()
        return possible

    # inbound
    def verify(self, request: HttpRequest) -> HttpResponse | None:
        """Check the webhook's signature over the raw body, or answer a handshake.

        Return an HttpResponse to answer a handshake (nothing stored), None when
        the request is a genuine event to store; raise BadSignature otherwise.
        """
        raise BadSignature("this platform does not push webhooks")

    def accounts(self, raw: RawEventData) -> set[str] | None:
        """The platform accounts a verified delivery is addressed to, or None when it has no address.

        Platforms whose one app serves many accounts (Meta) name the account of
        each part of a delivery: the hook stores the delivery once for each
        channel owning one of them (same platform, `external_id`), and `parse`
        keeps only the parts of its own channel. None: the delivery belongs to
        the channel whose URL received it. Pure; raise BadPayload.
        """
        return None

    @abstractmethod
    def parse(self, raw: RawEventData) -> list[Incoming]:
        """Pure: platform JSON → Incoming items. No DB, no network. Raise BadPayload."""

    def delivery_id(self, raw: RawEventData) -> str:
        """The platform's id of this delivery, the same on each retry of it; "" when it has none.

        The hooks view stores a delivery id once per channel (a unique index):
        a platform's retry or redelivery is acknowledged and not stored again.
        """
        return ""

    def poll(self, cursor: str | None) -> Page:
        """Fetch items newer than `cursor` (only with Capability.POLL)."""
        raise NotImplementedError

    # The search reads the whole source whatever the query (a feed): the caller asks it
    # once per run and matches every search against the same items.
    search_reads_everything: ClassVar[bool] = False

    def search_queries(self, terms: SearchTerms) -> list[str]:
        """The platform queries that together find the candidates of `terms` (Capability.SEARCH).

        The default suits a search that knows no OR: the required terms with each
        alternative, one query per "any of" term. A platform whose syntax has OR
        answers with one query (see `or_queries`).
        """
        required = [t for t in terms.all_of if t]
        if not terms.any_of:
            return [" ".join(required)] if required else []
        return [" ".join([*required, alt]) for alt in terms.any_of]

    def search(self, query: str, since: datetime | None = None) -> list[Incoming]:
        """Public items matching `query`, newest first, none older than `since` (only with Capability.SEARCH).

        Items are of kind "mention"; the caller (listening) filters them with its own matcher.
        """
        raise NotImplementedError

    def poll_interval(self) -> timedelta:
        """Time between two polls when the last page named no time.

        The channel's `config["poll_interval"]` (seconds), else the connector's
        `default_poll_seconds`.
        """
        try:
            seconds = float(self.channel.config.get("poll_interval", self.default_poll_seconds))
        except (TypeError, ValueError):
            seconds = self.default_poll_seconds
        return timedelta(seconds=max(1.0, seconds))

    # How many post ids one `post_details` call takes (the platform's batch size).
    post_details_batch: ClassVar[int] = 1

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """The text, link and publication time of the brand's posts `external_ids` (Capability.POST_DETAILS).

        At most `post_details_batch` ids. Returns one PostRef per post the platform
        still has (a deleted or unknown post is left out, as is one of another
        account); raises a ConnectorError for the whole call (TransientError,
        RateLimited, TokenRevoked…). Values the platform does not give stay blank.
        """
        raise NotImplementedError

    def enrich(self, external_ids: list[str]) -> list[Incoming]:
        """Fetch the full items (text, author, link) of items that arrived with ids only.

        Returns one item per id it could fetch (an id it cannot find is left out);
        raises a ConnectorError for the whole call (TransientError, RateLimited…).
        Only called for items a connector emitted with `needs_enrichment`.
        """
        raise NotImplementedError

    # outbound
    def perform(self, action: OutboundAction) -> Delivery:
        """Do `action` on the platform; raise one of the errors above on failure."""
        raise Rejected(f"{self.platform} cannot {action.kind}")

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """After an UnknownResult: find what an earlier attempt created, or None if it did not happen."""
        return None

    # connection
    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """The platform's consent page (only with Capability.OAUTH)."""
        raise NotImplementedError

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade the OAuth code for (long-lived) credentials."""
        raise NotImplementedError

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """Refresh credentials that expire soon; None when nothing to do.

        Called only by `cercle.pipeline.refresh`, under the channel's row lock;
        a connector never refreshes (nor stores credentials) on its own.
        `force`: the platform refused the access token, refresh it even if it
        does not look due.
        """
        return None

    def test_connection(self) -> str:
        """Make one cheap authenticated call; return a human summary or raise a ConnectorError."""
        raise NotImplementedError

    def setup_instructions(self) -> dict[str, str]:
        """What the team pastes into the platform (webhook fields to subscribe, etc.)."""
        return {}
