"""The demo workspace's personas and goals (set once, kept on re-runs).

Through the real actions, as the owner, so the audit log shows who set them
and the insights pages show what a team would write: two target groups the
simulated community holds (the loyal French-speaking fans, the unhappy
customers) and three goals on the figures the simulated history moves.
"""

from __future__ import annotations

from typing import Any

from cercle.insights.actions import do_save_goal, do_save_persona
from cercle.insights.models import Goal, Persona
from cercle.workspaces.models import Member, Workspace

# name, description, conditions.
PERSONAS: tuple[tuple[str, str, list[dict[str, Any]]], ...] = (
    (
        "Fans fidèles",
        "Des clientes et clients qui possèdent déjà une ou plusieurs lampes Lumen, reviennent "
        "souvent et parlent de la marque autour d'eux. Ils aiment le design et les coulisses de "
        "fabrication ; ils sont notre meilleur relais pour les lancements.",
        [
            {"kind": "language", "values": ["fr"]},
            {"kind": "returning", "value": True},
            {"kind": "activity", "days": 30, "min": 3},
        ],
    ),
    (
        "Clients mécontents",
        "Des personnes qui ont eu un problème de livraison, une panne ou une facture erronée. "
        "Elles veulent une réponse rapide et concrète ; bien traitées, elles redeviennent "
        "souvent des clientes fidèles.",
        [
            {"kind": "tag", "values": ["réclamation", "panne"]},
            {"kind": "activity", "days": 30, "min": 1},
        ],
    ),
)

# name, KPI, minutes, business hours, comparison, target, period, owner's username.
GOALS: tuple[tuple[str, str, int | None, bool, str, float, str, str], ...] = (
    (
        "90 % des questions en moins d'une heure",
        "questions_within",
        60,
        True,
        "gte",
        90,
        "week",
        "ines",
    ),
    (
        "Moins de 10 % de messages négatifs",
        "negative_share",
        None,
        False,
        "lte",
        10,
        "month",
        "demo",
    ),
    ("95 % des conversations répondues", "answer_rate", None, False, "gte", 95, "month", "lea"),
)


def configure_demo_insights(workspace: Workspace, owner: Member) -> None:
    """Two personas and three goals, unless the workspace already has some."""
    if not Persona.objects.filter(workspace=workspace).exists():
        for name, description, conditions in PERSONAS:
            do_save_persona(
                owner, workspace, name=name, description=description, conditions=conditions
            )
    if not Goal.objects.filter(workspace=workspace).exists():
        members = {
            m.user.username: m
            for m in Member.objects.filter(workspace=workspace).select_related("user")
        }
        for name, kpi, minutes, business, comparison, target, period, username in GOALS:
            goal = Goal(
                name=name,
                kpi=kpi,
                minutes=minutes,
                business_hours=business,
                comparison=comparison,
                target=target,
                period=period,
                owner=members.get(username),
            )
            do_save_goal(owner, workspace, goal)
