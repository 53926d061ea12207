"""Kinds of community, and what Cercle proposes for each: goals, SLA targets, rules, saved replies.

The team says what kind of community it runs (`CommunityType`); `proposal(kind)`
returns the items that fit it. Nothing is created here: the setup page shows them
editable, and the chosen ones are created through the owning apps' actions
(`actions.do_apply_community_template`). Texts are in French and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cercle.inbox.choices import Priority

from .models import CommunityType, Comparison, GoalPeriod, Kpi

DESCRIPTIONS: dict[str, Promise] = {
    CommunityType.SUPPORT: _("People come with questions and problems; speed and answers count."),
    CommunityType.FANS: _(
        "People share their enthusiasm; the tone and the answers to praise count."
    ),
    CommunityType.AUDIENCE: _("Readers react to what is published; the debate must stay civil."),
    CommunityType.INTEREST: _("Members talk with each other about a subject; newcomers matter."),
    CommunityType.PRODUCT: _("Users ask how to, report bugs and request features."),
}


@dataclass(frozen=True)
class GoalItem:
    name: Promise
    kpi: str
    target: float
    comparison: str = Comparison.AT_LEAST
    minutes: int | None = None
    business_hours: bool = False
    period: str = GoalPeriod.MONTH


@dataclass(frozen=True)
class SlaItem:
    name: Promise
    first_response_minutes: int
    intent: str = ""  # the policy's condition (empty: every conversation)


@dataclass(frozen=True)
class RuleItem:
    name: Promise
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]


@dataclass(frozen=True)
class ReplyItem:
    title: Promise
    shortcut: str
    versions: dict[str, str]


@dataclass(frozen=True)
class Proposal:
    goals: list[GoalItem] = field(default_factory=list)
    slas: list[SlaItem] = field(default_factory=list)
    rules: list[RuleItem] = field(default_factory=list)
    replies: list[ReplyItem] = field(default_factory=list)


THANKS = ReplyItem(
    _("Thanks"),
    "thanks",
    {
        "fr": "Merci beaucoup {{contact.first_name}}, ça nous fait très plaisir !",
        "en": "Thank you so much {{contact.first_name}}, this means a lot to us!",
    },
)
LOOKING = ReplyItem(
    _("We are looking into it"),
    "looking",
    {
        "fr": "Bonjour {{contact.first_name}}, merci pour votre message. Nous regardons et revenons "
        "vers vous rapidement.",
        "en": "Hi {{contact.first_name}}, thanks for your message. We are looking into it and will "
        "get back to you shortly.",
    },
)
PRIVATE = ReplyItem(
    _("Let's talk in private"),
    "private",
    {
        "fr": "Bonjour {{contact.first_name}}, pouvez-vous nous écrire en message privé avec votre "
        "numéro de commande ? Nous nous en occupons.",
        "en": "Hi {{contact.first_name}}, could you send us a private message with your order "
        "number? We will take care of it.",
    },
)
HOUSE_RULES = ReplyItem(
    _("Reminder of the house rules"),
    "rules",
    {
        "fr": "Merci de garder un ton respectueux : les attaques personnelles seront masquées.",
        "en": "Please keep it respectful: personal attacks will be hidden.",
    },
)
WELCOME = ReplyItem(
    _("Welcome"),
    "welcome",
    {
        "fr": "Bienvenue {{contact.first_name}} ! Ravi de vous compter parmi nous.",
        "en": "Welcome {{contact.first_name}}! Glad to have you with us.",
    },
)
BUG = ReplyItem(
    _("Bug reported"),
    "bug",
    {
        "fr": "Merci {{contact.first_name}} pour ce signalement : nous l'avons transmis à l'équipe "
        "produit. Pouvez-vous préciser votre version ?",
        "en": "Thanks {{contact.first_name}} for the report: we passed it to the product team. "
        "Which version are you using?",
    },
)


def _tag(when: dict[str, Any], tag: str) -> RuleItem:
    return RuleItem(format_lazy(_("Tag: {tag}"), tag=tag), [when], [{"type": "tag", "value": tag}])


COMPLAINTS_URGENT = RuleItem(
    _("Complaints are urgent"),
    [{"field": "intent", "value": ["complaint"]}],
    [{"type": "priority", "value": Priority.URGENT}],
)
TOXIC_HIDDEN = RuleItem(
    _("Hide toxic comments"),
    [{"field": "toxicity_at_least", "value": 0.9}],
    [{"type": "hide"}],
)
FIRST_TIMERS = RuleItem(
    _("Newcomers first"),
    [{"field": "first_time_author", "value": True}],
    [{"type": "priority", "value": Priority.HIGH}, {"type": "tag", "value": "newcomer"}],
)

PROPOSALS: dict[str, Proposal] = {
    CommunityType.SUPPORT: Proposal(
        goals=[
            GoalItem(
                _("Questions answered within 1 h (business hours): 90 %"),
                Kpi.QUESTIONS_ANSWERED_WITHIN,
                90,
                minutes=60,
                business_hours=True,
                period=GoalPeriod.WEEK,
            ),
            GoalItem(_("Answer rate: 95 %"), Kpi.ANSWER_RATE, 95),
            GoalItem(
                _("Median first response under 30 min"),
                Kpi.MEDIAN_FIRST_RESPONSE,
                30,
                comparison=Comparison.AT_MOST,
            ),
        ],
        slas=[
            SlaItem(_("Complaints within 30 min"), 30, intent="complaint"),
            SlaItem(_("Questions within 1 h"), 60, intent="question"),
        ],
        rules=[COMPLAINTS_URGENT, _tag({"field": "intent", "value": ["question"]}, "question")],
        replies=[LOOKING, PRIVATE, THANKS],
    ),
    CommunityType.FANS: Proposal(
        goals=[
            GoalItem(
                _("Negative share under 10 %"),
                Kpi.NEGATIVE_SHARE,
                10,
                comparison=Comparison.AT_MOST,
            ),
            GoalItem(_("Answer rate: 80 %"), Kpi.ANSWER_RATE, 80),
            GoalItem(
                _("20 % more returning contributors per quarter"),
                Kpi.RETURNING_GROWTH,
                20,
                period=GoalPeriod.QUARTER,
            ),
        ],
        slas=[SlaItem(_("Answer within 4 h"), 240)],
        rules=[_tag({"field": "intent", "value": ["praise"]}, "praise"), TOXIC_HIDDEN],
        replies=[THANKS, WELCOME],
    ),
    CommunityType.AUDIENCE: Proposal(
        goals=[
            GoalItem(
                _("Negative share under 15 %"),
                Kpi.NEGATIVE_SHARE,
                15,
                comparison=Comparison.AT_MOST,
            ),
            GoalItem(
                _("Questions answered within 1 day: 70 %"),
                Kpi.QUESTIONS_ANSWERED_WITHIN,
                70,
                minutes=24 * 60,
            ),
        ],
        slas=[SlaItem(_("Questions within 1 day"), 24 * 60, intent="question")],
        rules=[TOXIC_HIDDEN, _tag({"field": "sentiment", "value": ["negative"]}, "debate")],
        replies=[HOUSE_RULES, THANKS],
    ),
    CommunityType.INTEREST: Proposal(
        goals=[
            GoalItem(_("Answer rate: 90 %"), Kpi.ANSWER_RATE, 90),
            GoalItem(_("Answered within 4 h: 80 %"), Kpi.ANSWERED_WITHIN, 80, minutes=240),
            GoalItem(
                _("20 % more returning contributors per quarter"),
                Kpi.RETURNING_GROWTH,
                20,
                period=GoalPeriod.QUARTER,
            ),
        ],
        slas=[SlaItem(_("Answer within 4 h"), 240)],
        rules=[FIRST_TIMERS, TOXIC_HIDDEN],
        replies=[WELCOME, HOUSE_RULES],
    ),
    CommunityType.PRODUCT: Proposal(
        goals=[
            GoalItem(
                _("Questions answered within 2 h (business hours): 85 %"),
                Kpi.QUESTIONS_ANSWERED_WITHIN,
                85,
                minutes=120,
                business_hours=True,
                period=GoalPeriod.WEEK,
            ),
            GoalItem(
                _("Negative share under 20 %"),
                Kpi.NEGATIVE_SHARE,
                20,
                comparison=Comparison.AT_MOST,
            ),
        ],
        slas=[
            SlaItem(_("Bug reports within 2 h"), 120, intent="complaint"),
            SlaItem(_("Requests within 1 day"), 24 * 60, intent="request"),
        ],
        rules=[
            _tag({"field": "intent", "value": ["request"]}, "feature-request"),
            _tag({"field": "text_contains", "value": ["bug", "crash", "plante", "erreur"]}, "bug"),
        ],
        replies=[BUG, LOOKING, THANKS],
    ),
}


def proposal(kind: str) -> Proposal:
    """What fits a kind of community (KeyError for an unknown kind)."""
    return PROPOSALS[CommunityType(kind)]


__all__ = ["DESCRIPTIONS", "PROPOSALS", "CommunityType", "Proposal", "proposal"]
