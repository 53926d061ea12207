"""The YouTube connector: comments and replies on the channel's videos, by polling.

YouTube pushes nothing for comments, so the channel is polled with
`commentThreads.list?allThreadsRelatedToChannelId=` once per moderation status
(published, and heldForReview which arrive hidden), and `comments.list?parentId=`
for replies beyond the few a thread carries. Every call costs quota units out of
a daily budget shared with replies and moderation: the poll interval is derived
from what remains. See README.md for the platform facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cercle.connectors.base import (
    BadPayload,
    Capability,
    Connector,
    Delivery,
    Incoming,
    OAuthTokens,
    OutboundAction,
    Page,
    PostRef,
    RawEventData,
    Rejected,
    TokenRevoked,
)
from cercle.connectors.google.oauth import GoogleOAuth, expires_soon, expiry
from cercle.connectors.state import refresh_now

from . import outbound
from .client import (
    COST_LIST,
    COST_WRITE,
    DEFAULT_DAILY_LIMIT,
    MAX_VIDEO_IDS,
    SCOPE,
    QuotaBook,
    QuotaExhausted,
    YouTubeClient,
    dumps,
)
from .inbound import (
    ENVELOPE_KIND,
    activity_time,
    deletion_items,
    iter_threads,
    page_items,
    parse_body,
    parse_time,
    video_posts,
)

DEFAULT_STATUSES = ("published", "heldForReview")
# Units kept for replies and moderation: polling never spends them (50 writes a day).
DEFAULT_WRITE_RESERVE = 50 * COST_WRITE
DEFAULT_MIN_POLL_SECONDS = 60
# Each sweep re-reads this much recent history, to see edits, approvals and new replies.
DEFAULT_WINDOW_HOURS = 24
# The first sweep of a newly connected channel imports this much history.
DEFAULT_BACKFILL_HOURS = 7 * 24
# Overlap with the previous sweep's newest time: clocks and ordering are not exact.
OVERLAP = timedelta(minutes=5)
# At most this many comments.list pages per thread and per page of threads.
MAX_REPLY_PAGES = 5


@dataclass
class Cursor:
    """What the channel's cursor string holds (JSON), between polls and while paging."""

    # When the last complete sweep started: anything newer may not have been listed yet.
    since: str = ""
    # Units the last complete sweep cost, to plan the next ones.
    last_cost: int = 0
    # While a sweep is in progress: which status, which page, what it saw so far.
    status_index: int = 0
    page_token: str = ""
    in_sweep: bool = False
    sweep_started: str = ""
    sweep_cost: int = 0
    # Reply counts of recent threads, to read replies again only when the count moved.
    reply_counts: dict[str, int] = field(default_factory=dict)
    sweep_counts: dict[str, int] = field(default_factory=dict)
    # Ids listed by the last complete sweep → their thread's publishedAt: one missing
    # from the next sweep (while its thread is within that sweep's horizon) was deleted.
    seen: dict[str, str] = field(default_factory=dict)
    sweep_seen: dict[str, str] = field(default_factory=dict)
    # Missing from the last sweep once: deleted if the next one misses them too.
    missing: dict[str, str] = field(default_factory=dict)
    sweep_horizon: str = ""

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return cls()  # an unreadable cursor: start a fresh sweep rather than stall
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def dump(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True)


class YouTubeConnector(Connector):
    platform = "youtube"
    label = "YouTube"
    capabilities = frozenset(
        {
            Capability.POLL,
            Capability.OAUTH,
            Capability.REPLY,
            Capability.HIDE,
            Capability.UNHIDE,
            Capability.DELETE,
            Capability.BAN,
            Capability.POST_DETAILS,
        }
    )
    # https://developers.google.com/youtube/v3/docs/comments#snippet.textOriginal
    max_reply_length = 10_000
    post_details_batch = MAX_VIDEO_IDS  # videos.list takes up to 50 ids

    # -- settings ----------------------------------------------------------------------------

    def _config_int(self, name: str, default: int) -> int:
        try:
            return int(self.channel.config.get(name, default))
        except (TypeError, ValueError):
            return default

    @property
    def statuses(self) -> tuple[str, ...]:
        configured = self.channel.config.get("moderation_statuses")
        if (
            isinstance(configured, list)
            and configured
            and all(isinstance(s, str) for s in configured)
        ):
            return tuple(configured)
        return DEFAULT_STATUSES

    @property
    def brand_channel_id(self) -> str:
        return self.channel.external_id

    def _quota(self) -> QuotaBook:
        return QuotaBook(self.channel, self._config_int("quota_limit", DEFAULT_DAILY_LIMIT))

    def _client(self, access_token: str | None = None) -> YouTubeClient:
        """A client with the stored token (the pipeline refreshes it before use, under the row lock)."""
        credentials = self.channel.credentials
        token = access_token or str(credentials.get("access_token", ""))
        return YouTubeClient(
            self.http,
            api_base=str(self.channel.config.get("api_base", "")),
            access_token=token,
            quota=self._quota(),
            # A token given explicitly (the OAuth exchange) is not refreshed from stored credentials.
            refresh=self._refresh_refused
            if access_token is None and credentials.get("refresh_token")
            else None,
        )

    # -- inbound -------------------------------------------------------------------------------

    def parse(self, raw: RawEventData) -> list[Incoming]:
        """A stored page (our envelope) or any YouTube comment payload → Incoming items."""
        return parse_body(raw.body, brand_channel_id=self.brand_channel_id)

    def poll_interval(self) -> timedelta:
        """Time between sweeps so polling spends what the day has left, minus the write reserve."""
        quota = self._quota()
        cursor = Cursor.load(self.channel.cursor)
        return self._plan(quota, cursor.last_cost or len(self.statuses))

    def _plan(self, quota: QuotaBook, sweep_cost: int) -> timedelta:
        now = timezone.now()
        minimum = timedelta(
            seconds=max(1, self._config_int("min_poll_seconds", DEFAULT_MIN_POLL_SECONDS))
        )
        resets_at = quota.resets_at or now
        available = quota.remaining() - self._config_int("write_reserve", DEFAULT_WRITE_RESERVE)
        if available < sweep_cost:
            return max(minimum, resets_at - now)
        sweeps = available // max(1, sweep_cost)
        return max(minimum, (resets_at - now) / sweeps)

    def poll(self, cursor: str | None) -> Page:
        """One page of one moderation status per call; `has_more` until the sweep is done."""
        state = Cursor.load(cursor)
        now = timezone.now()
        if not self.brand_channel_id:
            raise Rejected("the YouTube channel id is unknown: connect the channel again")
        if not state.in_sweep:
            state.in_sweep, state.status_index, state.page_token = True, 0, ""
            state.sweep_started, state.sweep_cost, state.sweep_counts = now.isoformat(), 0, {}
            state.sweep_seen, state.sweep_horizon = {}, self._horizon(state, now).isoformat()
        reserve = self._config_int("write_reserve", DEFAULT_WRITE_RESERVE)
        client = self._client()
        status = self.statuses[min(state.status_index, len(self.statuses) - 1)]
        try:
            envelope, cost = self._read_page(client, state, status, reserve)
        except QuotaExhausted:
            # What is left is kept for replies: resume this sweep after the reset.
            return Page(
                items=[],
                cursor=state.dump(),
                raw=b"",
                has_more=False,
                next_poll_at=client.quota.resets_at,
            )
        items = page_items(envelope, brand_channel_id=self.brand_channel_id)
        state.sweep_cost += cost
        next_token = str(envelope["threads"].get("nextPageToken") or "")
        if next_token and not self._past_horizon(envelope["threads"], state):
            state.page_token = next_token
        elif state.status_index + 1 < len(self.statuses):
            state.status_index, state.page_token = state.status_index + 1, ""
        else:
            envelope["deleted"] = self._end_sweep(state)
            items += deletion_items(envelope["deleted"])
        return Page(
            items=items,
            cursor=state.dump(),
            raw=dumps(envelope),
            has_more=state.in_sweep,
            # After a complete sweep, the next one when the quota plan allows it.
            next_poll_at=None
            if state.in_sweep
            else now + self._plan(client.quota, state.last_cost),
        )

    def _horizon(self, state: Cursor, now: datetime) -> datetime:
        """How far back this sweep reads: the window, further back after a long pause, or the backfill."""
        since = parse_time(state.since) if state.since else None
        if since is None:
            return now - timedelta(hours=self._config_int("backfill_hours", DEFAULT_BACKFILL_HOURS))
        window = now - timedelta(hours=self._config_int("window_hours", DEFAULT_WINDOW_HOURS))
        return min(since, window) - OVERLAP

    def _past_horizon(self, threads: dict[str, Any], state: Cursor) -> bool:
        """True when this page already reaches threads older than the sweep must read."""
        horizon = parse_time(state.sweep_horizon) or timezone.now()
        for thread in iter_threads(threads):
            top = (
                thread.get("snippet", {}).get("topLevelComment")
                if isinstance(thread.get("snippet"), dict)
                else None
            )
            when = activity_time(top)
            if when is not None and when < horizon:
                return True
        return False

    def _read_page(
        self, client: YouTubeClient, state: Cursor, status: str, reserve: int
    ) -> tuple[dict[str, Any], int]:
        """Fetch one page of threads and the missing replies of its recent threads."""
        threads = client.json(
            client.list_threads(self.brand_channel_id, status, state.page_token, keep=reserve)
        )
        cost = COST_LIST
        replies: list[dict[str, Any]] = []
        for thread in iter_threads(threads):
            snippet = thread.get("snippet")
            if not isinstance(snippet, dict):
                raise BadPayload("thread without snippet")
            thread_id = str(thread.get("id") or "")
            total = snippet.get("totalReplyCount")
            total = total if isinstance(total, int) else 0
            carried = (
                thread.get("replies", {}).get("comments")
                if isinstance(thread.get("replies"), dict)
                else None
            )
            carried_count = len(carried) if isinstance(carried, list) else 0
            # Which replies this page shows completely: the carried ones when they are all.
            listed: list[Any] | None = None
            if total <= carried_count:
                listed = carried if isinstance(carried, list) else []
            known = (state.reply_counts.get(thread_id), state.sweep_counts.get(thread_id))
            if total > carried_count and total not in known:
                listed, page_token = [], ""
                for _page in range(MAX_REPLY_PAGES):
                    page = client.json(client.list_replies(thread_id, page_token, keep=reserve))
                    cost += COST_LIST
                    replies.append(page)
                    listed += page.get("items") or [] if isinstance(page.get("items"), list) else []
                    page_token = str(page.get("nextPageToken") or "")
                    if not page_token:
                        break
                if page_token:
                    listed = None  # more than we read: absence proves nothing
            # Recorded once read: a quota stop mid-page reads this thread's replies again.
            state.sweep_counts[thread_id] = total
            self._note_seen(state, thread_id, snippet.get("topLevelComment"), listed)
        envelope = {
            "kind": ENVELOPE_KIND,
            "channelId": self.brand_channel_id,
            "moderationStatus": status,
            "threads": threads,
            "replies": replies,
        }
        return envelope, cost

    @staticmethod
    def _note_seen(state: Cursor, thread_id: str, top: Any, replies: list[Any] | None) -> None:
        """Remember what this sweep listed, keyed to the thread's time (for deletions)."""
        snippet = top.get("snippet") if isinstance(top, dict) else None
        published = parse_time(snippet.get("publishedAt")) if isinstance(snippet, dict) else None
        if not thread_id or published is None:
            return
        when = published.isoformat()
        state.sweep_seen[thread_id] = when
        if replies is None:
            # Replies not listed in full this time: presume the known ones are still there.
            prefix = thread_id + "."
            state.sweep_seen.update({k: v for k, v in state.seen.items() if k.startswith(prefix)})
            return
        for reply in replies:
            if isinstance(reply, dict) and isinstance(reply.get("id"), str):
                state.sweep_seen[reply["id"]] = when

    def _end_sweep(self, state: Cursor) -> list[str]:
        """Close the sweep and plan the next one; return the ids that vanished (deleted).

        An id must be missing from two sweeps in a row: a comment moved between
        `published` and `heldForReview` while the sweep read one list then the
        other is missing from one sweep only.
        """
        horizon = parse_time(state.sweep_horizon) or timezone.now()

        def in_window(when: str) -> bool:
            return (parse_time(when) or horizon) > horizon

        missing = {
            comment_id: when
            for comment_id, when in state.seen.items()
            if comment_id not in state.sweep_seen and in_window(when)
        }
        vanished = [comment_id for comment_id in missing if comment_id in state.missing]
        state.missing = {k: v for k, v in missing.items() if k not in state.missing}
        state.seen = {k: v for k, v in state.sweep_seen.items() if in_window(v)} | state.missing
        state.sweep_seen = {}
        state.in_sweep = False
        state.since = state.sweep_started
        state.last_cost = max(1, state.sweep_cost)
        state.reply_counts, state.sweep_counts = state.sweep_counts, {}
        state.status_index, state.page_token, state.sweep_cost = 0, "", 0
        return vanished

    def post_details(self, external_ids: list[str]) -> list[PostRef]:
        """videos.list?part=snippet&id=… (1 unit for up to 50 videos): title and publication time.

        Reads never spend the units kept for replies and moderation; a deleted or
        private video is absent from the answer and left out.
        """
        reserve = self._config_int("write_reserve", DEFAULT_WRITE_RESERVE)
        data = self._client().list_videos(external_ids[:MAX_VIDEO_IDS], keep=reserve)
        return video_posts(data, set(external_ids), self.brand_channel_id)

    # -- outbound -------------------------------------------------------------------------------

    def perform(self, action: OutboundAction) -> Delivery:
        return outbound.perform(self._client(), action, brand_channel_id=self.brand_channel_id)

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        return outbound.reconcile(self._client(), action, brand_channel_id=self.brand_channel_id)

    # -- connection -----------------------------------------------------------------------------

    def _oauth(self) -> GoogleOAuth:
        return GoogleOAuth(self.channel, self.http, self.platform, SCOPE)

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        return self._oauth().consent_url(state, redirect_uri)

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade the code for an access token (1 h) and a refresh token; find the channel."""
        oauth = self._oauth()
        client_id, client_secret = oauth.app()
        data = oauth.exchange(code, redirect_uri)
        if not data.get("refresh_token"):
            raise Rejected("Google gave no refresh token: remove Cercle's access and connect again")
        credentials = {
            "client_id": client_id,
            "client_secret": client_secret,
            "access_token": str(data["access_token"]),
            "refresh_token": str(data["refresh_token"]),
        }
        me = self._client(access_token=credentials["access_token"]).my_channel()
        snippet: dict[str, Any] = me["snippet"] if isinstance(me.get("snippet"), dict) else {}
        return OAuthTokens(
            credentials=credentials,
            expires_at=expiry(data),
            account_id=str(me.get("id", "")),
            account_name=str(snippet.get("title", "")),
        )

    def refresh_credentials(self, *, force: bool = False) -> OAuthTokens | None:
        """A new access token when the current one expires within five minutes (or `force`), else None."""
        credentials = self.channel.credentials
        due = bool(credentials.get("refresh_token")) and expires_soon(credentials)
        if not force and credentials.get("access_token") and not due:
            return None
        return self._refresh_tokens(credentials)

    def _refresh_tokens(self, credentials: dict[str, Any]) -> OAuthTokens:
        """Ask Google for a new access token with the refresh token (`invalid_grant`: revoked)."""
        refresh_token = str(credentials.get("refresh_token") or "")
        if not refresh_token:
            raise TokenRevoked("no refresh token: connect the channel again")
        data = self._oauth().refresh(refresh_token)
        updated = dict(credentials)
        updated.pop("expires_at", None)
        updated["access_token"] = str(data["access_token"])
        # Google usually keeps the refresh token; keep ours unless it sends a new one.
        updated["refresh_token"] = str(data.get("refresh_token") or refresh_token)
        return OAuthTokens(credentials=updated, expires_at=expiry(data))

    def _refresh_refused(self) -> str | None:
        """Google refused the access token (401): the token to retry with once, or None.

        The pipeline refreshes under the channel's row lock (`state.refresh_now`);
        when another worker already did, its new token is the one to use.
        """
        refused = str(self.channel.credentials.get("access_token", ""))
        refresh_now(self.channel)
        current = str(self.channel.credentials.get("access_token", ""))
        return current if current and current != refused else None

    def test_connection(self) -> str:
        """One cheap call (channels.list, 1 unit): the channel's name and id."""
        me = self._client().my_channel()
        snippet: dict[str, Any] = me["snippet"] if isinstance(me.get("snippet"), dict) else {}
        return f"{snippet.get('title', '')} ({me.get('id', '')})"

    def setup_instructions(self) -> dict[str, str]:
        """Nothing to paste on YouTube's side: it has no comment webhooks, Cercle polls."""
        return {
            "webhook": _("None: YouTube does not push comments, Cercle polls them."),
            "scope": SCOPE,
            "redirect": _(
                "Add Cercle's OAuth callback address to the authorised redirect URIs "
                "of your Google Cloud OAuth client, and enable the YouTube Data API v3."
            ),
            "poll_interval_seconds": str(int(self.poll_interval().total_seconds())),
        }
