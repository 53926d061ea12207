"""Driving the community into Cercle: connecting channels, the live loop, the backfill.

- `connect_channels` creates (or re-points) the demo's channels on the fake platform.
- `WebhookSender` pushes events as the platform would: real HTTP POSTs of the
  wire's signed bodies to `/hooks/<channel-uuid>` (or `publish` for poll-only wires).
- `LiveCommunity` is the live loop: events at the week's rhythm, scaled by `rate`.
- `backfill` writes N days of history quickly through the real pipeline
  (RawEvents in bulk, then the ingest drain) and works the older conversations
  like a team would (assigned, answered through the real sender, tagged,
  closed, spam hidden), dated at simulated times.
- `webhook_batches` turns generated events into signed simulator-wire bodies (benchmarks).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings

from cercle.connectors.base import ActionKind
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_class
from cercle.connectors.simulator.connector import SIGNATURE_HEADER, sign
from cercle.core import clock
from cercle.inbox.actions import (
    do_assign_conversation,
    do_change_status,
    do_moderate_message,
    do_reply,
    do_tag_conversation,
)
from cercle.inbox.choices import Direction, Status
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_create_channel, do_ingest_pending, do_store_raw_events
from cercle.pipeline.enrich_posts import bare_post_ids, can_enrich, enrich_channel_posts
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member, Workspace

from . import phrases as P
from .actions import do_repoint_channel
from .channels import CHANNELS, ChannelSpec, wire_class
from .community import LIVE_PER_DAY, PARIS, Community, _poisson, hour_weight
from .own_places import OwnPlaces, connect_own_places, store_history, work_mailbox, work_site
from .platform import FakePlatform
from .wire.base import SimEvent, Wire
from .wire.simulator import body_for

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Tags the backfilled team put on what they handled (the workspace speaks French).
CATEGORY_TAGS = {
    "question": "question",
    "complaint": "réclamation",
    "outage": "panne",
    "praise": "compliment",
    "review": "avis",
    "spam": "spam",
    "toxic": "toxique",
    "troll": "troll",
}


# The backfill's team answers a month of history in a minute, and the real sender
# delivers every answer now (dated in the past, sent in the present). Platforms
# cap writes per rolling hour of real time (Instagram: 60 comment writes, the
# strictest), so each channel gets at most this many public answers: under every
# platform's hourly limit, with room left for the visitor's own replies in the
# demo's first hour. Older threads beyond it are closed, as a team does with what
# the community settled among itself.
BACKFILL_REPLIES_PER_CHANNEL = 40


def ensure_egress_allowed(host: str) -> None:
    """Let this process's connectors reach the fake platform on a loopback address."""
    if host not in settings.CERCLE_EGRESS_ALLOW_HOSTS:
        settings.CERCLE_EGRESS_ALLOW_HOSTS = [*settings.CERCLE_EGRESS_ALLOW_HOSTS, host]


# --- channels ----------------------------------------------------------------------------


def connect_channels(
    workspace: Workspace, platform: FakePlatform, specs: Iterable[ChannelSpec] = CHANNELS
) -> dict[str, Channel]:
    """Mount each simulated channel's wire on the platform and connect it in Cercle (idempotent)."""
    channels: dict[str, Channel] = {}
    for spec in specs:
        wire = platform.add_wire(spec.key, wire_class(spec))
        setup = wire.setup()
        config = {**setup.config, "sim_channel_key": spec.key}
        existing = Channel.objects.filter(
            workspace=workspace, platform=wire.platform, external_id=setup.external_id
        ).first()
        if existing is None:
            channels[spec.key] = do_create_channel(
                workspace,
                wire.platform,
                spec.name,
                external_id=setup.external_id,
                config=config,
                credentials=setup.credentials,
            )
        else:
            channels[spec.key] = do_repoint_channel(existing, config, setup.credentials)
    return channels


# --- pushing events -----------------------------------------------------------------------


class WebhookSender:
    """Delivers events the way each channel's platform would: signed webhooks, or published for polling."""

    def __init__(
        self,
        cercle_url: str,
        platform: FakePlatform,
        channels: dict[str, Channel],
        timeout: float = 10.0,
    ) -> None:
        self.cercle_url = cercle_url.rstrip("/")
        self.platform = platform
        self.channels = channels
        self.client = httpx.Client(timeout=timeout)
        self.sent = 0
        self.failed = 0
        self._lock = threading.Lock()

    def deliver(self, channel_key: str, events: list[SimEvent]) -> None:
        """Push `events` of one channel; retries a little when Cercle is briefly unavailable."""
        wire = self.platform.wires[channel_key]
        channel = self.channels[channel_key]
        self.platform.remember(channel_key, events)
        deliveries = wire.webhooks(events)
        if not deliveries:
            wire.publish(events)
            return
        url = f"{self.cercle_url}/hooks/{channel.uuid}"
        for delivery in deliveries:
            ok = False
            for attempt in range(4):
                try:
                    response = self.client.post(
                        url, content=delivery.body, headers=delivery.headers
                    )
                    ok = response.status_code < 300
                    if ok or response.status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5 * 2**attempt)
            with self._lock:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
            if not ok:
                logger.warning("webhook to %s refused or unreachable", url)

    def close(self) -> None:
        self.client.close()


LIVE_MIN_WEIGHT = 0.5


class LiveCommunity(threading.Thread):
    """The live loop: the community keeps writing, at the week's rhythm times `rate`.

    At rate 1 the simulated brand gets about LIVE_PER_DAY items a day (several a
    minute at the evening peak, fewer at night). What follows an item in its
    thread (the customer coming back, another customer answering) comes
    `compress` times sooner than in the history, so a demo visitor sees it.
    """

    def __init__(
        self,
        community: Community,
        deliver: Callable[[str, list[SimEvent]], None],
        rate: float = 1.0,
        seed: int = 1,
        tick: float = 1.0,
        compress: float = 10.0,
    ) -> None:
        super().__init__(name="sim-live", daemon=True)
        self.community = community
        self.deliver = deliver
        self.rate = rate
        self.tick = tick
        self.compress = compress
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.delivered = 0
        self._pending: list[tuple[datetime, int, str, SimEvent]] = []
        self._order = itertools.count()
        self._run_id = f"L{int(time.time())}"

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.wait(self.tick):
            try:
                self.step(datetime.now(UTC), self.tick)
            except Exception:  # the demo must keep living through a hiccup
                logger.exception("live community step failed")

    def step(self, now: datetime, seconds: float) -> int:
        """Create what the community writes during `seconds` before `now`; deliver what is due."""
        # A demo visitor at night should still see the inbox move: the live loop
        # keeps at least half the average rhythm (the backfilled history keeps the real one).
        weight = max(LIVE_MIN_WEIGHT, hour_weight(now.astimezone(PARIS)))
        expected = LIVE_PER_DAY * self.rate / 86_400 * seconds * weight
        incident = self.community.incident_at(now)
        if incident is not None:
            expected *= incident.magnitude
        for _ in range(_poisson(self.rng, expected)):
            when = now - timedelta(seconds=self.rng.random() * seconds)
            for key, event in self.community.make_events(
                self.rng, when, f"{self._run_id}-{next(self._order)}"
            ):
                if event.created_at > now:
                    due = now + (event.created_at - now) / self.compress
                    event = replace(event, created_at=due)
                heapq.heappush(self._pending, (event.created_at, next(self._order), key, event))
        batch: dict[str, list[SimEvent]] = defaultdict(list)
        while self._pending and self._pending[0][0] <= now:
            _due, _n, key, event = heapq.heappop(self._pending)
            batch[key].append(event)
        for key, events in batch.items():
            self.deliver(key, events)
            self.delivered += len(events)
        return sum(len(e) for e in batch.values())


def prime_wires(
    platform: FakePlatform, community: Community, days: int, now: datetime | None = None
) -> int:
    """On a re-run, tell the new wires what the community already wrote (nothing is delivered).

    The history is regenerated (it is deterministic) so that replies to old
    conversations find their targets; poll-only platforms list it again and
    their connector skips what it already has.
    """
    now = now or datetime.now(UTC)
    per_channel: dict[str, list[SimEvent]] = defaultdict(list)
    for key, event in community.events_between(now - timedelta(days=days), now):
        per_channel[key].append(event)
    for key, items in per_channel.items():
        platform.remember(key, items)
        platform.wires[key].publish(items)
    return sum(len(items) for items in per_channel.values())


# --- benchmarks --------------------------------------------------------------------------


def webhook_batches(
    events: Iterable[tuple[str, SimEvent]],
    batch_size: int = 50,
    secrets: dict[str, str] | None = None,
) -> list[tuple[str, bytes, dict[str, str]]]:
    """Group events per channel into simulator-wire webhook bodies: [(channel_key, body, headers)].

    With `secrets` (channel key → webhook secret) each body carries its signature header.
    """
    per_channel: dict[str, list[SimEvent]] = defaultdict(list)
    for key, event in events:
        per_channel[key].append(event)
    batches = []
    for key, items in per_channel.items():
        for start in range(0, len(items), batch_size):
            body = body_for(items[start : start + batch_size])
            headers = {"Content-Type": "application/json"}
            if secrets and key in secrets:
                headers[SIGNATURE_HEADER] = sign(body, secrets[key])
            batches.append((key, body, headers))
    return batches


# --- backfill ------------------------------------------------------------------------------


@dataclass
class BackfillReport:
    events: int = 0
    raw_events: int = 0
    conversations: int = 0
    replied: int = 0
    moderated: int = 0
    closed: int = 0
    seconds: float = 0.0
    posts_enriched: int = 0


def _reply_time(rng: random.Random, received: datetime) -> datetime:
    """When the team answered: minutes in business hours, next morning at night."""
    when = received + timedelta(minutes=rng.lognormvariate(3.6, 0.9))  # median about 35 minutes
    local = when.astimezone(PARIS)
    if local.hour < 8:
        when = local.replace(hour=8, minute=rng.randint(30, 59)).astimezone(UTC)
    elif local.hour >= 21:
        when = (
            (local + timedelta(days=1)).replace(hour=8, minute=rng.randint(30, 59)).astimezone(UTC)
        )
    return when


def _store(
    platform: FakePlatform,
    channels: dict[str, Channel],
    events: list[tuple[str, SimEvent]],
    progress: Progress,
) -> int:
    """Store the history as each wire would have delivered it: RawEvents in bulk, or pages polled."""
    per_channel: dict[str, list[SimEvent]] = defaultdict(list)
    for key, event in events:
        per_channel[key].append(event)
    stored = 0
    for key, items in per_channel.items():
        wire: Wire = platform.wires[key]
        platform.remember(key, items)
        bodies = [d.body for d in wire.webhooks(items)]
        if bodies:
            stored += do_store_raw_events(channels[key], bodies)
        else:  # a poll-only platform: publish, then poll it through the real connector
            wire.publish(items)
            while poll_channel(channels[key]):
                stored += 1
        progress(f"  {key}: {len(items)} items stored")
    return stored


def _drain(progress: Progress) -> int:
    total, last = 0, time.monotonic()
    while True:
        report = do_ingest_pending()
        total += report.events
        if report.events == 0:
            return total
        if time.monotonic() - last > 3:
            progress(f"  ingested {total} raw events…")
            last = time.monotonic()


def enrich_posts_now(channels: Iterable[Channel], progress: Progress) -> int:
    """Fetch the details of every bare post of `channels` now, as the worker's task would.

    The history is written before the worker starts: without this, Insights would
    wait for the worker to ask the platforms. The tasks ingestion enqueued find
    nothing left to do. Returns how many posts got details.
    """
    filled = 0
    for channel in channels:
        if not can_enrich(channel):
            continue
        ids = bare_post_ids(channel)
        while ids:
            report = enrich_channel_posts(channel.pk, ids)
            filled += report.filled
            ids = report.rest
    if filled:
        progress(f"  {filled} posts completed from their platforms")
    return filled


def backfill(
    workspace: Workspace,
    days: int = 30,
    now: datetime | None = None,
    *,
    platform: FakePlatform | None = None,
    channels: dict[str, Channel] | None = None,
    community: Community | None = None,
    seed: int = 42,
    work: bool = True,
    progress: Progress | None = None,
    places: OwnPlaces | None = None,
) -> BackfillReport:
    """Write `days` of community history into `workspace` through the real pipeline, then work it.

    Without a `platform`, a fake platform is started for the duration (the
    team's replies are delivered to it by the real sender). With `places`, the
    brand's own places get their history too: blog posts in the feed and
    customers' mails in the mailbox, brought in by polling the real RSS and
    e-mail connectors; the team answers older mails over SMTP.
    """
    started = time.monotonic()
    say: Progress = progress or (lambda _line: None)
    now = now or datetime.now(UTC)
    community = community or (platform.community if platform else Community(seed))
    own_platform = platform is None
    platform = platform or FakePlatform(community).start()
    ensure_egress_allowed(platform.host)
    try:
        channels = channels or connect_channels(workspace, platform)
        if places is not None:
            platform.pages = places.page
            if not places.channels:
                connect_own_places(workspace, places, platform.base_url)
        report = BackfillReport()
        events = community.events_between(now - timedelta(days=days), now)
        report.events = len(events)
        say(f"Backfill: {len(events)} community items over {days} days")
        _store(platform, channels, events, say)
        if places is not None:
            posts, mails = store_history(places, now - timedelta(days=days), now, say)
            report.events += posts + mails
        report.raw_events = _drain(say)
        report.posts_enriched = enrich_posts_now(channels.values(), say)
        report.conversations = Conversation.objects.filter(workspace=workspace).count()
        say(f"  {report.conversations} conversations")
        if work:
            if places is not None:
                report.replied += work_mailbox(workspace, places, now, seed, say)
                report.replied += work_site(workspace, places, now, seed, say)
            _work(workspace, platform, channels, events, now, report, seed, say)
    finally:
        if own_platform:
            platform.stop()
    report.seconds = time.monotonic() - started
    return report


def _work(
    workspace: Workspace,
    platform: FakePlatform,
    channels: dict[str, Channel],
    events: list[tuple[str, SimEvent]],
    now: datetime,
    report: BackfillReport,
    seed: int,
    say: Progress,
) -> None:
    """Answer, assign, tag, close and moderate the older conversations, like the team did."""
    members = list(Member.objects.filter(workspace=workspace).select_related("user").order_by("id"))
    agents = [m for m in members if m.can("reply")]
    lead = next((m for m in members if m.can("assign") and m.can("moderate")), None)
    if not agents or lead is None:
        say("  no team to work the history; leaving it all new")
        return
    rng = random.Random(seed * 31 + 7)
    # Platform wires give items their own ids: find the generated event by id, else by its text.
    by_id = {(k, e.id): e for k, e in events if e.op == "create"}
    by_text = {(k, e.text): e for k, e in events if e.op == "create"}
    first_items = (
        Message.objects.filter(workspace=workspace, direction=Direction.INBOUND)
        .order_by("conversation_id", "id")
        .values_list("conversation_id", "channel_id", "external_id", "text", "id")
    )
    key_of = {channel.pk: key for key, channel in channels.items()}
    firsts: dict[int, tuple[SimEvent, int]] = {}
    for conversation_id, channel_id, external_id, text, message_id in first_items:
        if conversation_id in firsts:
            continue
        key = key_of.get(channel_id, "")
        event = by_id.get((key, external_id or "")) or by_text.get((key, text))
        if event is not None:
            firsts[conversation_id] = (event, message_id)
    conversations = Conversation.objects.filter(
        workspace=workspace, pk__in=list(firsts), status__in=[Status.NEW, Status.OPEN]
    ).select_related("channel", "contact", "post")
    # Reactions belong to the live demo, not to the history being written.
    react, platform.react_probability = platform.react_probability, 0.0
    dated: list[Conversation] = []
    last_print = time.monotonic()
    replies_left = _reply_allowance(platform, channels)
    try:
        # Newest first: the answers the platforms' limits allow go to what a visitor sees first.
        for conversation in conversations.order_by("-id"):
            event, message_id = firsts[conversation.pk]
            received = conversation.last_inbound_at or event.created_at
            age = now - received
            when = _reply_time(rng, received)
            if when >= now - timedelta(minutes=5):
                continue
            agent = rng.choice(agents)
            category = event.category
            replied = report.replied
            # The team's work happens at `when`: the actions stamp their rows with that time.
            with clock.at(when):
                can_answer = replies_left[conversation.channel_id] > 0
                worked = _work_one(
                    rng,
                    conversation,
                    event,
                    message_id,
                    age,
                    agent,
                    lead,
                    report,
                    category,
                    can_answer=can_answer,
                )
                if not worked and age > timedelta(days=1):
                    # Nothing older than a day is left waiting: only the last day's
                    # arrivals can be late (no wall of red on the demo's history).
                    do_change_status(agent, conversation, Status.CLOSED)
                    report.closed += 1
                    worked = True
                if worked:
                    # Deliver now, so the delivery is dated with the work too.
                    while send_due(limit=50):
                        pass
                    dated.append(conversation)
            replies_left[conversation.channel_id] -= report.replied - replied
            if time.monotonic() - last_print > 3:
                say(f"  worked {len(dated)} conversations…")
                last_print = time.monotonic()
        _close_stale(workspace, lead, now, rng, report)
        say(f"  delivered {report.replied} replies and {report.moderated} moderations")
    finally:
        platform.react_probability = react
    say(f"  answered {report.replied}, closed {report.closed}, hid {report.moderated}")


def _reply_allowance(platform: FakePlatform, channels: dict[str, Channel]) -> dict[int, int]:
    """How many answers the backfill's team may send per channel id (a wire may ask for fewer)."""
    allowance: dict[int, int] = defaultdict(lambda: BACKFILL_REPLIES_PER_CHANNEL)
    for key, channel in channels.items():
        wire = platform.wires.get(key)
        if wire is not None and wire.backfill_replies is not None:
            allowance[channel.pk] = min(BACKFILL_REPLIES_PER_CHANNEL, wire.backfill_replies)
    return allowance


def _close_stale(
    workspace: Workspace, lead: Member, now: datetime, rng: random.Random, report: BackfillReport
) -> None:
    """Close what still waits from before yesterday (a customer who came back, an item the
    pass over the history could not tie to a generated one), dated when the team did it."""
    stale = Conversation.objects.filter(
        workspace=workspace,
        status__in=[Status.NEW, Status.OPEN],
        waiting_since__lt=now - timedelta(days=1),
    )
    for conversation in stale.order_by("id"):
        with clock.at(min(_reply_time(rng, conversation.waiting_since or now), now)):
            do_change_status(lead, conversation, Status.CLOSED)
        report.closed += 1


def _work_one(
    rng: random.Random,
    conversation: Conversation,
    event: SimEvent,
    message_id: int,
    age: timedelta,
    agent: Member,
    lead: Member,
    report: BackfillReport,
    category: str,
    *,
    can_answer: bool = True,
) -> bool:
    """Work one conversation of the history like the team did; whether anything was done.

    Without `can_answer` (the channel's share of the platform's write limit is
    spent) nothing is answered.
    """
    if category in {"spam", "toxic"}:
        if age <= timedelta(hours=2) or rng.random() >= 0.8:
            return False
        message = Message.objects.get(pk=message_id)
        connector = connector_class(conversation.channel.platform)
        # A private message cannot be hidden, nor a review on most platforms.
        if ActionKind.HIDE in connector.moderation_actions(
            message.kind, is_private=conversation.kind == "private"
        ):
            do_moderate_message(lead, message, ActionKind.HIDE)
            report.moderated += 1
        do_tag_conversation(agent, conversation, CATEGORY_TAGS[category])
        do_change_status(agent, conversation, Status.CLOSED)
        report.closed += 1
        return True
    if category == "troll":
        if rng.random() >= 0.5 or age <= timedelta(hours=6):
            return False
        do_change_status(agent, conversation, Status.CLOSED)
        report.closed += 1
        return True
    # A team on top of its inbox: what is a few hours old is mostly answered.
    hours = age / timedelta(hours=1)
    chance = 0.88 if hours > 24 else 0.8 if hours > 3 else 0.4 if hours > 1 else 0.1
    if rng.random() >= chance or not can_answer:
        return False
    if rng.random() < 0.7:
        do_assign_conversation(lead, conversation, agent)
    if category in CATEGORY_TAGS:
        do_tag_conversation(agent, conversation, CATEGORY_TAGS[category])
    if event.topic and rng.random() < 0.6:
        do_tag_conversation(agent, conversation, event.topic)
    do_reply(agent, conversation, _brand_reply(rng, event, conversation, agent))
    report.replied += 1
    if age > timedelta(days=1) and rng.random() < 0.8:
        do_change_status(agent, conversation, Status.CLOSED)
        report.closed += 1
    elif rng.random() < 0.3:
        do_change_status(agent, conversation, Status.PENDING)
    return True


# Closers that keep two answers from being identical (X refuses duplicate content).
REPLY_CLOSERS = ("", " 💡", " 🙂", " 🙏", " ✨", " 🚲", " 👋", " 😊")


def _brand_reply(
    rng: random.Random, event: SimEvent, conversation: Conversation, agent: Member
) -> str:
    lang = event.author.language if event.author.language in P.BRAND_REPLIES else "en"
    group = {
        "question": "question",
        "complaint": "complaint",
        "outage": "complaint",
        "praise": "praise",
        "share": "praise",
    }.get(event.category, "other")
    if event.category == "review":
        group = "praise" if (event.rating or 3) >= 4 else "complaint"
    first = conversation.contact.first_name or event.author.name.split(" ")[0]
    text = rng.choice(P.BRAND_REPLIES[lang][group]).replace("{first}", first)
    if group in {"question", "complaint"}:
        text += f" (ref. {rng.randint(10000, 99999)})"
    # Community managers sign with their initials.
    return f"{text}{rng.choice(REPLY_CLOSERS)} ^{agent.initials}"
