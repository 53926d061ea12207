"""Nothing goes out to a feed: a mention on someone else's site is answered there, by hand.

The connector declares no outbound capability, so the inbox never offers a reply
box and the sender never reaches this; an action that does is refused for good.
"""

from __future__ import annotations

from cercle.connectors.base import Delivery, OutboundAction, Rejected


def perform(action: OutboundAction) -> Delivery:
    raise Rejected(f"a feed cannot {action.kind}: answer on the site itself")
