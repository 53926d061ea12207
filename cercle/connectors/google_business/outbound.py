"""Outbound actions on Google reviews: the owner's reply, upserted and deleted.

A review has at most one reply from the business: `PUT …/reviews/{id}/reply`
creates or replaces it (so repeating it is harmless), `DELETE …/reply` removes
it. Reviews themselves cannot be deleted or hidden through the API.
"""

from __future__ import annotations

from cercle.connectors.base import ActionKind, Delivery, OutboundAction, Rejected

from .client import GoogleBusinessClient

REPLY_SUFFIX = "/reply"


def reply_id(review_id: str) -> str:
    """The platform id of the owner's reply to a review (the message id of our answer)."""
    return f"{review_id}{REPLY_SUFFIX}"


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and " ".join(a.split()) == " ".join(b.split())


class GoogleBusinessOutbound:
    def __init__(self, client: GoogleBusinessClient, location: str) -> None:
        if not location:
            raise Rejected("the channel has no Google Business location")
        self.client = client
        self.location = location

    def perform(self, action: OutboundAction) -> Delivery:
        if action.kind == ActionKind.REPLY:
            review = action.target_external_id
            if not review:
                raise Rejected("Google needs the review to answer")
            self.client.put_reply(self.location, review, action.text)
            return Delivery(platform_id=reply_id(review))
        if action.kind == ActionKind.DELETE:
            target = action.target_external_id
            if not target.endswith(REPLY_SUFFIX):
                raise Rejected("Google does not let a business delete a review, only its reply")
            review = target.removesuffix(REPLY_SUFFIX)
            self.client.delete_reply(self.location, review)
            return Delivery(platform_id=target)
        raise Rejected(f"Google reviews cannot {action.kind}")

    def reconcile(self, action: OutboundAction) -> Delivery | None:
        """After an ambiguous answer: the review's reply says whether the upsert or delete happened."""
        if action.kind == ActionKind.REPLY and action.target_external_id:
            review = self.client.review(self.location, action.target_external_id)
            reply = review.get("reviewReply")
            if isinstance(reply, dict) and _same(reply.get("comment"), action.text):
                return Delivery(platform_id=reply_id(action.target_external_id))
            return None
        if action.kind == ActionKind.DELETE and action.target_external_id.endswith(REPLY_SUFFIX):
            review_id = action.target_external_id.removesuffix(REPLY_SUFFIX)
            review = self.client.review(self.location, review_id)
            if not isinstance(review.get("reviewReply"), dict):
                return Delivery(platform_id=action.target_external_id)
            return None
        return None
