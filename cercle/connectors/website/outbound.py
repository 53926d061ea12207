"""OutboundActions for a website: answers kept for the widget, or sent to the site's callback.

* In a widget visitor's thread (`w:`), an answer needs no call: once the
  sender records it, the outbound message is sent and the widget's thread
  endpoint shows it to the visitor. Hiding or deleting a visitor's message
  likewise takes it out of what the widget shows. `perform` therefore only
  names what was done; it writes nothing (the sender records the delivery).
* For items a site pushed (`s:`), every action is POSTed, signed, to the
  channel's callback URL (README.md, "Callback"); without one, the team is told
  to answer on the site. The site deduplicates on `idempotency_key`, which the
  sender keeps across retries, so `reconcile` has nothing to look up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import SiteClient
from .inbound import SITE_PREFIX, WIDGET_PREFIX

ANSWERS = frozenset({ActionKind.REPLY, ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE})


def is_widget(action: OutboundAction) -> bool:
    """Whether the action is about a widget visitor's thread."""
    refs = (action.thread_ref, action.target_external_id, action.author_external_id)
    return any(ref.startswith(WIDGET_PREFIX) for ref in refs if ref)


def widget_delivery(action: OutboundAction) -> Delivery:
    if action.kind in ANSWERS:
        return Delivery(platform_id=f"{WIDGET_PREFIX}out:{action.idempotency_key}")
    if action.kind in (ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.DELETE):
        if not action.target_external_id.startswith(WIDGET_PREFIX):
            raise Rejected("nothing to act on")
        return Delivery(platform_id=action.target_external_id)
    raise Rejected(f"the website widget cannot {action.kind}")


def _bare(external_id: str) -> str:
    return external_id.removeprefix(SITE_PREFIX)


def callback_payload(action: OutboundAction) -> dict[str, Any]:
    """What the site's callback receives (documented in README.md)."""
    return {
        "type": "reply" if action.kind in ANSWERS else str(action.kind),
        "idempotency_key": action.idempotency_key,
        "target_id": _bare(action.target_external_id),
        "thread_id": _bare(action.thread_ref),
        "page_url": action.post_external_id,
        "text": action.text,
        "private": action.kind in (ActionKind.PRIVATE_REPLY, ActionKind.SEND_PRIVATE),
    }


def site_delivery(client: SiteClient | None, action: OutboundAction) -> Delivery:
    if client is None:
        raise Rejected("this site has no callback URL: answer on the site itself")
    if action.kind not in ANSWERS | {ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.DELETE}:
        raise Rejected(f"the website cannot {action.kind}")
    answer: Mapping[str, Any] = client.send(callback_payload(action))
    if action.kind not in ANSWERS:
        return Delivery(platform_id=action.target_external_id)
    given = answer.get("id")
    platform_id = (
        SITE_PREFIX + str(given)[:150]
        if isinstance(given, str | int) and not isinstance(given, bool) and str(given)
        else f"{SITE_PREFIX}out:{action.idempotency_key}"
    )
    url = answer.get("url")
    return Delivery(
        platform_id=platform_id,
        url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else "",
    )


def perform(client: SiteClient | None, action: OutboundAction) -> Delivery:
    if is_widget(action):
        return widget_delivery(action)
    return site_delivery(client, action)
