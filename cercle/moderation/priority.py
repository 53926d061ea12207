"""The priority a message's labels suggest for its conversation.

A simple, readable ladder (the team-workflow issue refines it with SLA policies
and rules):

- URGENT: a threat or hate speech; or a toxic complaint (abusive and unhappy).
- HIGH: an unhappy complaint (not positive); another toxic message; a negative message
  that needs a reply.
- NORMAL: any other message that needs a reply (questions, requests, a mild complaint in
  a happy message: "great charger, the manual could be clearer").
- LOW: praise, spam, chatter — nothing is owed.

A conversation's priority follows its messages' labels upwards; it only comes
down (to LOW) from the untouched default, NORMAL, and only when none of its
messages waits for a reply: praise sinks below questions, a "thanks!" after a
question does not bury the question, and a priority someone raised is never
lowered by a model.
"""

from __future__ import annotations

from cercle.inbox.choices import Priority

from .classify import Labels


def suggested_priority(labels: Labels) -> Priority:
    """Priority for a conversation whose latest inbound message has `labels`."""
    if labels.toxicity_category in ("threat", "hate"):
        return Priority.URGENT
    if labels.is_toxic and (labels.intent == "complaint" or labels.sentiment == "negative"):
        return Priority.URGENT
    if labels.is_toxic or (labels.intent == "complaint" and labels.sentiment != "positive"):
        return Priority.HIGH
    if labels.needs_reply and labels.sentiment == "negative":
        return Priority.HIGH
    if labels.needs_reply:
        return Priority.NORMAL
    return Priority.LOW


def next_priority(current: int, suggested: Priority, *, another_needs_reply: bool) -> int:
    """The conversation's new priority: up to `suggested`, or down only from the default."""
    if suggested > current:
        return int(suggested)
    if suggested < current == Priority.NORMAL and not another_needs_reply:
        return int(suggested)
    return current
