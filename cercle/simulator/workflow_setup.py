"""The demo workspace's response targets, house rules and moderation rules (set once, kept on re-runs).

Everything goes through the real actions, as the owner, so the demo's audit
log shows who set it up, and the settings pages show what a team would write.
"""

from __future__ import annotations

from datetime import date

from cercle.inbox.choices import ConversationKind, Priority
from cercle.moderation.actions import do_save_house_rule, do_save_rule
from cercle.moderation.choices import RuleMode
from cercle.moderation.models import HouseRule, Rule
from cercle.workflow.actions import do_save_business_hours, do_save_sla_policy
from cercle.workflow.models import BusinessHours, SlaPolicy
from cercle.workspaces.models import Member, Workspace

OPENING_HOURS = {
    **{str(day): [["09:00", "19:00"]] for day in range(5)},
    "5": [["10:00", "16:00"]],
}
HOLIDAYS = [(date(2026, 12, 25), "Noël"), (date(2027, 1, 1), "Jour de l'an")]
HOUSE_RULES = (
    (
        1,
        "Restez courtois : pas d'insulte ni d'attaque personnelle.",
        "Be civil: no insults or personal attacks.",
    ),
    (
        2,
        "Pas de publicité, d'arnaque ni de lien promotionnel.",
        "No advertising, scams or promotional links.",
    ),
    (
        3,
        "Ne publiez pas de données personnelles (adresse, téléphone, commande).",
        "Do not post personal data (address, phone, order).",
    ),
)
SPAM_PATTERN = (
    r"bitcoin|crypto|trading|free-followers|t\.me/|cadeau-gratuit|free-gift|whatsapp"
    r"|lampes-pas-cheres|cheap-lamps|lumen ?coin"
)
INSULTS = [
    "incapables",
    "clowns",
    "arnaqueurs",
    "vous êtes nuls",
    "bras cassés",
    "idiots",
    "useless",
    "scammers",
    "pathetic",
    "idiots",
    "fools",
    "honte à vous",
    "shame on you",
]
OUTAGE = [
    "panne",
    "ne s'allume plus",
    "ne répond plus",
    "outage",
    "down",
    "won't turn on",
    "offline",
]


def configure_demo_workflow(workspace: Workspace, owner: Member) -> None:
    """Business hours, SLA policies, house rules and three rules for the Lumen demo."""
    hours = BusinessHours.objects.filter(workspace=workspace, name="Support Lumen").first()
    if hours is None:
        hours = do_save_business_hours(
            owner,
            workspace,
            name="Support Lumen",
            time_zone="Europe/Paris",
            weekly=OPENING_HOURS,
            holidays=HOLIDAYS,
        )
    if not SlaPolicy.objects.filter(workspace=workspace).exists():
        for position, name, fields in (
            (
                0,
                "Avis négatifs / Bad reviews",
                {
                    "conversation_kind": ConversationKind.REVIEW,
                    "priority": Priority.HIGH,
                    "first_response_minutes": 30,
                },
            ),
            (
                1,
                "Messages privés / Private messages",
                {
                    "conversation_kind": ConversationKind.PRIVATE,
                    "first_response_minutes": 60,
                    "next_response_minutes": 60,
                },
            ),
            (
                2,
                "Tout le reste / Everything else",
                {"first_response_minutes": 120, "next_response_minutes": 240},
            ),
        ):
            do_save_sla_policy(
                owner,
                workspace,
                SlaPolicy(name=name, position=position, business_hours=hours, **fields),
            )
    house: dict[int, HouseRule] = {}
    for number, text_fr, text_en in HOUSE_RULES:
        house[number] = do_save_house_rule(
            owner, workspace, number=number, text_fr=text_fr, text_en=text_en
        )
    if Rule.objects.filter(workspace=workspace).exists():
        return
    do_save_rule(
        owner,
        workspace,
        name="Spam et arnaques / Spam and scams",
        position=0,
        stop=True,
        mode=RuleMode.LIVE,
        house_rule=house[2],
        conditions=[{"field": "text_matches", "value": SPAM_PATTERN}],
        actions=[{"type": "mark_spam"}, {"type": "hide"}],
    )
    do_save_rule(
        owner,
        workspace,
        name="Insultes / Insults",
        position=1,
        mode=RuleMode.SUGGEST,
        house_rule=house[1],
        conditions=[{"field": "text_contains", "value": INSULTS}],
        actions=[{"type": "hide"}, {"type": "tag", "value": "toxique"}],
    )
    do_save_rule(
        owner,
        workspace,
        name="Pannes / Outages",
        position=2,
        mode=RuleMode.LIVE,
        conditions=[{"field": "text_contains", "value": OUTAGE}],
        actions=[
            {"type": "tag", "value": "panne"},
            {"type": "priority", "value": str(int(Priority.HIGH))},
        ],
    )
