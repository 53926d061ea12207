"""The demo workspace's response targets, house rules, moderation rules, the team's profiles and
automatic assignment (set once, kept on re-runs).

Everything goes through the real actions, as the owner, so the demo's audit
log shows who set it up, and the settings pages show what a team would write.
"""

from __future__ import annotations

from datetime import date

from cercle.inbox.choices import ConversationKind, Priority
from cercle.moderation.actions import do_save_house_rule, do_save_rule
from cercle.moderation.choices import RuleMode
from cercle.moderation.models import HouseRule, Rule
from cercle.workflow.actions import (
    do_save_business_hours,
    do_save_routing_settings,
    do_save_sla_policy,
)
from cercle.workflow.models import BusinessHours, RoutingSettings, SlaPolicy
from cercle.workspaces.actions import do_change_profile, do_set_member_capacity
from cercle.workspaces.choices import Availability
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


# username → (languages, skills, availability, capacity or None for the workspace's default).
PROFILES: dict[str, tuple[list[str], list[str], str, int | None]] = {
    "demo": (["fr", "en"], ["reviews", "moderation"], Availability.ONLINE, 5),
    "lea": (["fr", "en"], ["billing", "reviews"], Availability.ONLINE, None),
    "tom": (["en", "de"], ["shipping", "billing"], Availability.ONLINE, 6),
    "ines": (["fr", "de"], ["moderation", "billing"], Availability.AWAY, None),
    "paul": (["fr"], [], Availability.OFF, None),
}
# What each kind of conversation needs: reviews go to those who handle them.
KIND_SKILLS = {ConversationKind.REVIEW: ["reviews"]}
DEMO_CAPACITY = 8


def configure_demo_team(workspace: Workspace) -> None:
    """Languages, skills, availability and capacity of the demo team (each member's own profile).

    Set once: a profile someone already filled in is left alone.
    """
    members = Member.objects.filter(workspace=workspace, user__username__in=list(PROFILES))
    for member in members.select_related("user"):
        if member.languages:
            continue
        languages, skills, availability, capacity = PROFILES[member.user.username]
        member = do_change_profile(
            member,
            display_name=member.display_name,
            languages=languages,
            skills=skills,
            availability=availability,
            notifications=member.notifications,
        )
        if capacity is not None:
            do_set_member_capacity(member, member, capacity)


def configure_demo_routing(workspace: Workspace, owner: Member) -> None:
    """Automatic assignment on (after the history is written: the backlog then goes out live)."""
    if RoutingSettings.objects.filter(workspace=workspace).exists():
        return
    do_save_routing_settings(
        owner,
        workspace,
        auto_assign=True,
        default_capacity=DEMO_CAPACITY,
        off_grace_minutes=15,
        kind_skills={str(kind): skills for kind, skills in KIND_SKILLS.items()},
    )


def configure_demo_workflow(workspace: Workspace, owner: Member) -> None:
    """Business hours, SLA policies, house rules, three rules and the team's profiles (Lumen demo)."""
    configure_demo_team(workspace)
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
                # A late routine item shows late (its SLA badge) without turning high: the
                # live demo has nobody answering, so raising every late item would make
                # most of the inbox "high" and priority mean nothing.
                {
                    "first_response_minutes": 120,
                    "next_response_minutes": 240,
                    "raise_priority": False,
                },
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
