"""Dry runs: what a rule would have done over past weeks, and how it compares with the team.

The rule's conditions are evaluated on the workspace's inbound history (in
batches, with the same `Facts` as live), and its hits are compared with what
the team actually did to those messages, judged by the rule's first action:
hidden, deleted or banned on the platform; tagged with the same tag; closed
(or marked spam); answered; assigned to the same member. Precision is the
share of hits the team treated that way; recall the share of what the team
treated that way that the rule would have caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q, QuerySet

from cercle.core import clock
from cercle.inbox.choices import Direction, Status
from cercle.inbox.models import Message

from .choices import RuleAction
from .models import Rule
from .rules import fires, load_facts

BATCH = 2000
# Messages shown as examples of the hits.
EXAMPLES = 20


@dataclass(frozen=True, slots=True)
class DryRun:
    weeks: int
    evaluated: int
    hits: int
    team_did: int
    agreed: int
    examples: tuple[int, ...]

    @property
    def precision(self) -> float | None:
        return self.agreed / self.hits if self.hits else None

    @property
    def recall(self) -> float | None:
        return self.agreed / self.team_did if self.team_did else None


def _team_treated(rule: Rule, messages: QuerySet[Message]) -> set[int]:
    """The messages (among `messages`) the team treated the way the rule's first action would."""
    action = rule.actions[0] if rule.actions else {}
    kind, value = action.get("type"), action.get("value")
    if kind in {RuleAction.HIDE, RuleAction.DELETE, RuleAction.BAN}:
        treated = messages.filter(Q(is_hidden=True) | Q(deleted_at__isnull=False))
    elif kind == RuleAction.TAG:
        treated = messages.filter(conversation__tags__name=str(value))
    elif kind in {RuleAction.STATUS, RuleAction.MARK_SPAM}:
        wanted = Status.CLOSED if kind == RuleAction.MARK_SPAM else str(value)
        treated = messages.filter(conversation__status=wanted)
    elif kind in {RuleAction.REPLY, RuleAction.SAVED_REPLY}:
        treated = messages.filter(conversation__first_response_at__isnull=False)
    elif kind == RuleAction.ASSIGN:
        treated = messages.filter(conversation__assignee_id=value)
    elif kind == RuleAction.PRIORITY:
        treated = messages.filter(conversation__priority__gte=int(value or 0))
    else:
        return set()
    return set(treated.values_list("pk", flat=True).distinct())


def dry_run(rule: Rule, weeks: int = 4) -> DryRun:
    """Evaluate `rule` on the last `weeks` of inbound messages of its workspace."""
    since = clock.now() - timedelta(weeks=weeks)
    history = Message.objects.filter(
        workspace_id=rule.workspace_id, direction=Direction.INBOUND, sent_at__gte=since
    )
    hits: list[int] = []
    evaluated = 0
    last_id = 0
    while True:
        batch = list(history.filter(pk__gt=last_id).order_by("pk")[:BATCH])
        if not batch:
            break
        last_id = batch[-1].pk
        evaluated += len(batch)
        facts = load_facts(batch)
        hits.extend(m.pk for m in batch if fires(rule, m, facts))
    treated = _team_treated(rule, history)
    agreed = len(treated.intersection(hits))
    return DryRun(
        weeks=weeks,
        evaluated=evaluated,
        hits=len(hits),
        team_did=len(treated),
        agreed=agreed,
        examples=tuple(hits[:EXAMPLES]),
    )


__all__ = ["DryRun", "dry_run"]
