"""The house rule a person cites when they hide, delete or ban (see `HouseRule`).

Every hide, delete or ban cites the item of the community's guidelines it
enforces: a rule cites its own house rule, a person picks one. When the
workspace has house rules, a person must pick one; without any, nothing is cited.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from cercle.connectors.base import ActionKind
from cercle.inbox.actions import ActionRefused

from .models import HouseRule

# The actions that enforce the guidelines (and so cite one of them).
CITING = frozenset({ActionKind.HIDE, ActionKind.DELETE, ActionKind.BAN})


def house_rules(workspace_id: int) -> list[HouseRule]:
    return list(HouseRule.objects.filter(workspace_id=workspace_id).order_by("number"))


def cited_house_rule(workspace_id: int, kind: ActionKind, value: str) -> int | None:
    """The number of the house rule cited for `kind`, checked; None when nothing is to be cited.

    Refused (ActionRefused) when the workspace has house rules and none, or an unknown
    one, is given for a hide, delete or ban.
    """
    if kind not in CITING:
        return None
    numbers = set(
        HouseRule.objects.filter(workspace_id=workspace_id).values_list("number", flat=True)
    )
    if not numbers:
        return None
    value = (value or "").strip()
    if not value.isdigit() or int(value) not in numbers:
        raise ActionRefused(_("Choose the house rule this enforces."))
    return int(value)
