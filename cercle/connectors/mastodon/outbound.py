"""Outbound actions on Mastodon: `OutboundAction` → API calls → `Delivery`.

* reply / private answer: `POST /api/v1/statuses` with `in_reply_to_id`, the
  author's `@acct` first (Mastodon addresses a status to the accounts it
  mentions: without it a direct answer reaches nobody), the visibility of the
  status answered (never wider), and `Idempotency-Key: <action key>`;
* delete: only the brand's own statuses (`DELETE /api/v1/statuses/:id`);
* ban: block the account (`POST /api/v1/accounts/:id/block`), then report it with
  the status to the instance's moderators (`POST /api/v1/reports`, forwarded to
  the author's instance) unless the channel's `config["report_on_ban"]` is false;
* unban: unblock the account (`POST /api/v1/accounts/:id/unblock`);
* like: favourite the status.
"""

from __future__ import annotations

from cercle.connectors.base import (
    ActionKind,
    Delivery,
    OutboundAction,
    Rejected,
)
from cercle.connectors.text import html_to_text

from .client import MastodonClient

REPORT_COMMENT = "Reported by the community team (Cercle)"
# The visibility of an answer: the same as the status answered, never wider.
VISIBILITIES = ("public", "unlisted", "private", "direct")


def _require(value: str, what: str) -> str:
    if not value:
        raise Rejected(f"Mastodon needs {what}")
    return value


def _addressed(text: str, acct: str) -> str:
    """The answer with its recipient's `@acct` first, unless the team already wrote it."""
    handle = f"@{acct}"
    if not acct or handle.lower() in text.lower().split():
        return text
    return f"{handle} {text}"


def _delivery(status: dict[str, object]) -> Delivery:
    status_id = status.get("id")
    if not isinstance(status_id, str | int) or not str(status_id):
        raise Rejected("Mastodon's answer names no status id")
    url = status.get("url") or status.get("uri") or ""
    return Delivery(platform_id=str(status_id), url=str(url))


def _same_text(content: object, ours: str) -> bool:
    """Whether a status's HTML content is our text (mentions Mastodon linked are compared as words)."""
    if not isinstance(content, str):
        return False
    return " ".join(html_to_text(content).split()) == " ".join(ours.split())


class MastodonOutbound:
    """Performs and reconciles one channel's actions; `brand_id` is the brand's account id."""

    def __init__(self, client: MastodonClient, brand_id: str, *, report_on_ban: bool) -> None:
        self.client = client
        self.brand_id = brand_id
        self.report_on_ban = report_on_ban

    def _text_for(self, action: OutboundAction, target: dict[str, object]) -> tuple[str, str]:
        account = target.get("account")
        acct = str(account.get("acct", "")) if isinstance(account, dict) else ""
        answered = str(target.get("visibility", "public"))
        if action.kind == ActionKind.SEND_PRIVATE:
            visibility = "direct"
        else:
            visibility = answered if answered in VISIBILITIES else "public"
        return _addressed(action.text, acct), visibility

    def perform(self, action: OutboundAction) -> Delivery:
        kind = action.kind
        if kind in (ActionKind.REPLY, ActionKind.SEND_PRIVATE):
            target_id = _require(action.target_external_id, "the status to answer")
            target = self.client.status(target_id)
            text, visibility = self._text_for(action, target)
            created = self.client.post_status(
                text,
                in_reply_to_id=target_id,
                visibility=visibility,
                idempotency_key=action.idempotency_key,
            )
            return _delivery(created)
        if kind == ActionKind.DELETE:
            target_id = _require(action.target_external_id, "the status to delete")
            status = self.client.status(target_id)
            account = status.get("account")
            owner = str(account.get("id", "")) if isinstance(account, dict) else ""
            if not self.brand_id or owner != self.brand_id:
                raise Rejected("Mastodon only lets the brand delete its own posts")
            self.client.delete_status(target_id)
            return Delivery(platform_id=target_id)
        if kind == ActionKind.BAN:
            account_id = _require(action.author_external_id, "the account to block")
            self.client.block(account_id)
            if self.report_on_ban:
                statuses = [action.target_external_id] if action.target_external_id else []
                self.client.report(account_id, statuses, REPORT_COMMENT)
            return Delivery(platform_id=account_id)
        if kind == ActionKind.UNBAN:
            account_id = _require(action.author_external_id, "the account to unblock")
            self.client.unblock(account_id)
            return Delivery(platform_id=account_id)
        if kind == ActionKind.LIKE:
            target_id = _require(action.target_external_id, "the status to favourite")
            return _delivery(self.client.favourite(target_id))
        raise Rejected(f"Mastodon cannot {kind}")

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """What an earlier, ambiguous attempt did, or None (then `perform` runs again).

        A reply is looked for among the answers to its target (our account, our
        text); not found, the retry carries the same `Idempotency-Key`, which
        Mastodon answers with the first status for an hour. A block is a
        state: done when the relationship says `blocking`. A delete is done
        when the status answers 404. A favourite is repeated harmlessly.
        """
        kind = action.kind
        if kind in (ActionKind.REPLY, ActionKind.SEND_PRIVATE) and action.target_external_id:
            context = self.client.context(action.target_external_id)
            descendants = context.get("descendants")
            for status in descendants if isinstance(descendants, list) else []:
                if not isinstance(status, dict):
                    continue
                account = status.get("account")
                if not isinstance(account, dict) or str(account.get("id")) != self.brand_id:
                    continue
                if str(status.get("in_reply_to_id")) != action.target_external_id:
                    continue
                acct = ""
                mentions = status.get("mentions")
                if isinstance(mentions, list) and mentions and isinstance(mentions[0], dict):
                    acct = str(mentions[0].get("acct", ""))
                if _same_text(status.get("content"), _addressed(action.text, acct)):
                    return _delivery(status)
            return None
        if kind == ActionKind.DELETE and action.target_external_id:
            try:
                self.client.status(action.target_external_id)
            except Rejected:  # 404: gone
                return Delivery(platform_id=action.target_external_id)
            return None
        if kind == ActionKind.BAN and action.author_external_id:
            relationship = self.client.relationship(action.author_external_id)
            if relationship.get("blocking") is True:
                return Delivery(platform_id=action.author_external_id)
            return None
        return None
