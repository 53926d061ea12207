"""Who does a thing: a Member, or a named automation acting through the same actions.

Every action takes an `actor`. A rule, an SLA policy, the inbound pipeline or an
import is an `Automation`: it passes the same permission check (an automation
may do what it was configured to do, in its own workspace only) and leaves the
same Activity rows, with its name instead of a member, so the audit trail and
the undo of the next issues read one log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from django.core.exceptions import PermissionDenied

from .choices import AutomationKind
from .models import Member


@dataclass(frozen=True, slots=True)
class Automation:
    """A named automation of one workspace (a rule, an SLA policy, the pipeline, an import)."""

    workspace_id: int
    kind: AutomationKind
    name: str = ""
    # The id of the rule or policy row, when there is one (for links and undo).
    object_id: int | None = None

    def can(self, permission: str) -> bool:
        """Automations act only as configured by a member who could; the action decides the scope."""
        return True

    @property
    def label(self) -> str:
        return self.name or str(self.kind.label)


Actor: TypeAlias = Member | Automation


def require(actor: Actor, permission: str, workspace_id: int) -> None:
    """Refuse (PermissionDenied) an actor of another workspace or without `permission`."""
    if actor.workspace_id != workspace_id or not actor.can(permission):
        raise PermissionDenied(permission)


def actor_fields(actor: Actor | None) -> dict[str, Any]:
    """The Activity columns that say who acted (for `Activity(**…)` and bulk inserts)."""
    if actor is None:
        return {"actor_id": None, "automation": "", "automation_name": "", "automation_ref": None}
    if isinstance(actor, Automation):
        return {
            "actor_id": None,
            "automation": str(actor.kind),
            "automation_name": actor.label[:200],
            "automation_ref": actor.object_id,
        }
    return {"actor_id": actor.pk, "automation": "", "automation_name": "", "automation_ref": None}


def system(workspace_id: int, name: str = "") -> Automation:
    """Cercle itself (scheduled work: waking snoozes, recovering deliveries, refreshing tokens)."""
    return Automation(workspace_id=workspace_id, kind=AutomationKind.SYSTEM, name=name)
