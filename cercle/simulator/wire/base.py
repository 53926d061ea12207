"""How the simulator speaks a platform's wire format.

The community generator (cercle.simulator.community) produces platform-neutral
`SimEvent`s. A `Wire` per platform turns them into what that platform would
send (signed webhook deliveries, or items its API lists for polling) and plays
the platform's API for the connector: it answers replies and moderation calls
at `api_base` (the channel's config) like the real platform would, and reports
each performed action to the simulator so the community can react.

The fake platform HTTP server (cercle.simulator.platform) routes
`http://127.0.0.1:<port>/<platform>/<channel_key>/<rest>` to
`wire.handle(FakeRequest(path="/<rest>", ...))` of that channel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class SimAuthor:
    id: str
    name: str
    handle: str
    language: str  # "fr" or "en"
    avatar: str = ""


@dataclass(frozen=True)
class SimPost:
    id: str
    text: str
    url: str
    published_at: datetime


@dataclass(frozen=True)
class SimEvent:
    """One community item, platform-neutral. Ids are unique per channel."""

    id: str
    type: str  # comment, reply, mention, share, message, review
    author: SimAuthor
    text: str
    created_at: datetime
    op: str = "create"  # create, edit, delete
    post: SimPost | None = None
    parent_id: str = ""  # the comment this one answers
    thread_id: str = ""  # private-message thread
    rating: int | None = None  # reviews, 1..5
    from_brand: bool = False
    # What the community generator meant (question, complaint, praise, spam…) and the
    # product family: ground truth for tests, the demo's backfill and benchmarks.
    # Wires never send these: a platform does not label its items.
    category: str = ""
    topic: str = ""


@dataclass(frozen=True)
class WebhookDelivery:
    """One HTTP POST the platform would make to /hooks/<channel-uuid>."""

    body: bytes
    headers: dict[str, str]

    @classmethod
    def signed_json(cls, body: bytes, signature_header: str, signature: str) -> WebhookDelivery:
        """A JSON delivery carrying the platform's signature header."""
        return cls(
            body=body, headers={"Content-Type": "application/json", signature_header: signature}
        )


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str  # below api_base, starting with "/"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass(frozen=True)
class SimAction:
    """What the brand did on the (fake) platform, as the platform saw it."""

    kind: str  # reply, private_reply, send_private, hide, unhide, delete, ban, like
    target_id: str  # the item acted on (or thread id / author id)
    text: str = ""
    created_id: str = ""  # id of what the action created (a reply)
    raw: dict[str, Any] = field(default_factory=dict)


ActionListener = Callable[[SimAction], None]


@dataclass
class ChannelSetup:
    """What `do_create_channel` needs so the real connector talks to this fake platform."""

    external_id: str
    config: dict[str, Any]
    credentials: dict[str, Any]


class Wire(ABC):
    """One platform's wire format, for one simulated channel."""

    platform: str  # the connector's platform name
    # Replies the backfill's team may send on this channel (None: the driver's default);
    # a platform with a tighter write limit than the backfill's pace sets its own.
    backfill_replies: ClassVar[int | None] = None

    def __init__(self, channel_key: str, api_base: str, on_action: ActionListener) -> None:
        self.channel_key = channel_key
        self.api_base = api_base
        self.on_action = on_action

    @abstractmethod
    def setup(self) -> ChannelSetup:
        """Account id, config (must carry api_base) and credentials (webhook secret, token)."""

    @abstractmethod
    def webhooks(self, events: list[SimEvent]) -> list[WebhookDelivery]:
        """The signed deliveries for these events; [] for a poll-only platform (then `publish` them)."""

    def publish(self, events: list[SimEvent]) -> None:
        """Make events visible to the fake API's list endpoints (poll-only platforms)."""
        return None

    @abstractmethod
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Play the platform's API: perform replies and moderation, list items for polling."""
