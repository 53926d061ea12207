"""Writes of the insights app: goals and personas (managers only), each with an Activity row."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cercle.core import clock
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import Permission, Verb
from cercle.workspaces.models import Activity, Workspace

from .models import Goal, Persona
from .personas import clean_conditions


def _log(workspace: Workspace, actor: Actor, what: str, **data: Any) -> None:
    Activity.objects.create(
        workspace=workspace,
        verb=Verb.WORKSPACE_CHANGED,
        data={"setting": what, **data},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def do_save_goal(actor: Actor, workspace: Workspace, goal: Goal) -> Goal:
    """Create or change a goal (built by a form); its owner must be of the workspace."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if goal.pk is not None and goal.workspace_id != workspace.pk:
        raise Goal.DoesNotExist
    if goal.owner is not None and goal.owner.workspace_id != workspace.pk:
        raise Goal.DoesNotExist
    goal.workspace = workspace
    goal.name = goal.name[:120]
    goal.full_clean()
    with transaction.atomic():
        goal.save()
        _log(workspace, actor, "goal", **goal.describe())
    return goal


def do_delete_goal(actor: Actor, goal: Goal) -> None:
    require(actor, Permission.MANAGE_WORKFLOW, goal.workspace_id)
    with transaction.atomic():
        _log(goal.workspace, actor, "goal_deleted", **goal.describe())
        goal.delete()


def do_save_persona(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    description: str,
    conditions: list[dict[str, Any]],
    persona: Persona | None = None,
) -> Persona:
    """Create or change a persona; its conditions are checked before anything is written."""
    require(actor, Permission.MANAGE_WORKFLOW, workspace.pk)
    if persona is not None and persona.workspace_id != workspace.pk:
        raise Persona.DoesNotExist
    row = persona or Persona(workspace=workspace)
    row.name, row.description = name[:120], description[:4000]
    row.conditions = clean_conditions(conditions)
    row.full_clean(exclude=["workspace"])
    with transaction.atomic():
        row.save()
        _log(workspace, actor, "persona", id=row.pk, name=row.name)
    return row


def do_delete_persona(actor: Actor, persona: Persona) -> None:
    require(actor, Permission.MANAGE_WORKFLOW, persona.workspace_id)
    with transaction.atomic():
        _log(persona.workspace, actor, "persona_deleted", id=persona.pk, name=persona.name)
        persona.delete()
