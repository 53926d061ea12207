"""The demo's simulated channels and which platform wire each one speaks.

`CHANNELS` is the one table mapping a simulated channel to its platform. A
channel whose `preferred_platform` has a wire (`cercle.simulator.wire.<platform>`
importable, defining a `Wire` subclass for that platform) *and* a connector
listed in `settings.CERCLE_CONNECTORS` speaks that platform; otherwise it falls
back to the `simulator` platform. So the demo switches to the real connectors
as soon as they land, without touching this code.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from cercle.connectors.registry import connector_classes

from .wire.base import Wire
from .wire.simulator import SimulatorWire

logger = logging.getLogger(__name__)

FALLBACK_PLATFORM = "simulator"


@dataclass(frozen=True)
class ChannelSpec:
    """One simulated presence of the brand and how its community behaves there."""

    key: str  # stable, used in ids and in the fake platform's URLs
    name: str  # the Channel's name in Cercle
    preferred_platform: str
    short: str  # prefix of item ids
    share: float  # share of the community's traffic
    post_every_hours: float  # brand post rhythm; 0 = no brand posts
    private_messages: bool
    mentions: bool
    shares: bool
    reviews: float  # share of praise/complaints left as star reviews
    url: str


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec(
        "facebook-like",
        "Lumen on Facebook",
        "facebook",
        "fb",
        0.30,
        30,
        True,
        True,
        True,
        0.06,
        "https://facebook.example/lumen",
    ),
    ChannelSpec(
        "instagram-like",
        "@lumen on Instagram",
        "instagram",
        "ig",
        0.25,
        20,
        True,
        True,
        False,
        0.0,
        "https://instagram.example/lumen",
    ),
    ChannelSpec(
        "youtube-like",
        "Lumen on YouTube",
        "youtube",
        "yt",
        0.13,
        84,
        False,
        False,
        False,
        0.0,
        "https://youtube.example/@lumen",
    ),
    ChannelSpec(
        "x-like",
        "@lumen on X",
        "x",
        "xx",
        0.12,
        16,
        True,
        True,
        True,
        0.0,
        "https://x.example/lumen",
    ),
    ChannelSpec(
        "forum",
        "Lumen community forum",
        "discourse",
        "fo",
        0.20,
        10,
        True,
        True,
        False,
        0.0,
        "https://forum.lumen.example",
    ),
    ChannelSpec(
        "mastodon",
        "@lumen on Mastodon",
        "mastodon",
        "ma",
        0.06,
        24,
        True,
        True,
        True,
        0.0,
        "https://mastodon.example/@lumen",
    ),
    ChannelSpec(
        "subreddit",
        "r/maisonlumen",
        "reddit",
        "rd",
        0.06,
        36,
        True,
        True,
        False,
        0.0,
        "https://reddit.example/r/maisonlumen",
    ),
    ChannelSpec(
        "reviews",
        "Lumen reviews",
        "google_business",
        "rv",
        0.12,
        0,
        False,
        False,
        False,
        1.0,
        "https://reviews.example/lumen",
    ),
)

CHANNELS_BY_KEY = {spec.key: spec for spec in CHANNELS}


def _wire_in_module(platform: str) -> type[Wire] | None:
    try:
        module = importlib.import_module(f"cercle.simulator.wire.{platform}")
    except ImportError:
        return None
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Wire)
            and getattr(value, "platform", "") == platform
        ):
            return value
    return None


def wire_class(spec: ChannelSpec) -> type[Wire]:
    """The wire `spec` speaks now: its preferred platform's when ready, else the simulator's."""
    platform = spec.preferred_platform
    if platform != FALLBACK_PLATFORM and platform in connector_classes():
        cls = _wire_in_module(platform)
        if cls is not None:
            return cls
        logger.info(
            "no simulator wire for %s yet; %s uses the simulator platform", platform, spec.key
        )
    return SimulatorWire
