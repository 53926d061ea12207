"""The routes of `/api/v1/` over the workspace's library: saved replies, rules, personas, goals.

Reads go through the same queries as the pages, writes through the same actions
(`replies.actions`, `moderation.actions`, `insights.actions`) with the token's member as the actor; so
the permission checks are the UI's: a viewer reads, a write needs the role the
page needs (403 otherwise), and another workspace's object is a 404. A write
the action refuses (a ValidationError: an empty title, an unknown variable, a
taken shortcut, a bad condition) is a 422 with its reason.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from cercle.core import clock
from cercle.inbox import queries as inbox_queries
from cercle.inbox.actions import ActionRefused
from cercle.insights.actions import (
    do_delete_goal,
    do_delete_persona,
    do_save_goal,
    do_save_persona,
)
from cercle.insights.goals import GoalStatus, goal_status
from cercle.insights.models import Goal, Persona
from cercle.insights.personas import matching_contacts
from cercle.moderation.actions import do_save_rule
from cercle.moderation.dryrun import dry_run
from cercle.moderation.models import HouseRule, Rule
from cercle.replies import queries as reply_queries
from cercle.replies.actions import do_delete_saved_reply, do_save_saved_reply
from cercle.replies.models import SavedReply
from cercle.workspaces.actors import require
from cercle.workspaces.choices import Permission
from cercle.workspaces.models import Member

from . import queries
from .endpoints import CONTACTS_ORDER, READ, WRITE, actor, contact_row
from .paging import page
from .schemas import (
    ContactPage,
    DryRunOut,
    Error,
    GoalIn,
    GoalOut,
    PageParams,
    PersonaIn,
    PersonaOut,
    RenderedOut,
    RenderParams,
    RuleIn,
    RuleOut,
    SavedReplyIn,
    SavedReplyOut,
    SavedReplyParams,
)

router = Router()

NO_CONTENT: dict[int | str, Any] = {204: None, **WRITE}


# --- saved replies ---------------------------------------------------------------------------


def _saved_reply(r: SavedReply) -> dict[str, Any]:
    return {
        "id": r.pk,
        "title": r.title,
        "shortcut": r.shortcut,
        "tags": r.tags if isinstance(r.tags, list) else [],
        "usage_count": r.usage_count,
        "versions": {v.language: v.text for v in r.versions.all()},
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


@router.get("/saved-replies", response={200: list[SavedReplyOut], **READ}, tags=["saved replies"])
def list_saved_replies(request: HttpRequest, params: Query[SavedReplyParams]) -> list[Any]:
    """The workspace's saved replies, most used first (the reply box's `/` picker's order)."""
    found = reply_queries.search_saved_replies(actor(request), params.q or "")
    return [_saved_reply(r) for r in found]


@router.get(
    "/saved-replies/{saved_reply_id}",
    response={200: SavedReplyOut, **READ},
    tags=["saved replies"],
)
def get_saved_reply(request: HttpRequest, saved_reply_id: int) -> dict[str, Any]:
    return _saved_reply(reply_queries.saved_reply_for(actor(request), saved_reply_id))


def _fresh_saved_reply(member: Member, pk: int) -> dict[str, Any]:
    return _saved_reply(reply_queries.saved_reply_for(member, pk))


@router.post("/saved-replies", response={201: SavedReplyOut, **WRITE}, tags=["saved replies"])
def create_saved_reply(request: HttpRequest, body: SavedReplyIn) -> Status[Any]:
    """A new saved reply (managers and above, as in Settings → Saved replies)."""
    member = actor(request)
    saved = do_save_saved_reply(
        member,
        member.workspace,
        title=body.title,
        versions=body.versions,
        shortcut=body.shortcut,
        tags=body.tags,
    )
    return Status(201, _fresh_saved_reply(member, saved.pk))


@router.put(
    "/saved-replies/{saved_reply_id}",
    response={200: SavedReplyOut, **WRITE},
    tags=["saved replies"],
)
def update_saved_reply(
    request: HttpRequest, saved_reply_id: int, body: SavedReplyIn
) -> dict[str, Any]:
    """Replace a saved reply: its title, shortcut, tags and versions (a language left out goes)."""
    member = actor(request)
    do_save_saved_reply(
        member,
        member.workspace,
        title=body.title,
        versions=body.versions,
        shortcut=body.shortcut,
        tags=body.tags,
        saved_reply=reply_queries.saved_reply_for(member, saved_reply_id),
    )
    return _fresh_saved_reply(member, saved_reply_id)


@router.delete("/saved-replies/{saved_reply_id}", response=NO_CONTENT, tags=["saved replies"])
def delete_saved_reply(request: HttpRequest, saved_reply_id: int) -> Status[None]:
    member = actor(request)
    do_delete_saved_reply(member, reply_queries.saved_reply_for(member, saved_reply_id))
    return Status(204, None)


@router.get(
    "/saved-replies/{saved_reply_id}/render",
    response={200: RenderedOut, 403: Error, 422: Error, **READ},
    tags=["saved replies"],
)
def render_saved_reply(
    request: HttpRequest, saved_reply_id: int, params: Query[RenderParams]
) -> dict[str, Any]:
    """The saved reply as it would be sent in a conversation: the version in the conversation's
    language, its variables filled (the contact's name, the agent's…), as the `/` picker shows it.
    Needs the reply permission, like the picker."""
    member = actor(request)
    require(member, Permission.REPLY, member.workspace_id)
    conversation = inbox_queries.conversation_for(member, params.conversation_id)
    filled = reply_queries.fill(
        reply_queries.saved_reply_for(member, saved_reply_id), conversation, member
    )
    if filled is None:
        raise ActionRefused("This saved reply has no text.")
    return {
        "saved_reply_id": saved_reply_id,
        "conversation_id": conversation.pk,
        "language": filled.language,
        "text": filled.text,
    }


# --- rules -------------------------------------------------------------------------------------


def _rule_in(member: Member, pk: int) -> Rule:
    try:
        return Rule.objects.select_related("house_rule").get(
            pk=pk, workspace_id=member.workspace_id
        )
    except Rule.DoesNotExist as exc:
        raise Http404 from exc


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "position": rule.position,
        "mode": rule.mode,
        "stop": rule.stop,
        "conditions": rule.conditions if isinstance(rule.conditions, list) else [],
        "actions": rule.actions if isinstance(rule.actions, list) else [],
        "house_rule": rule.house_rule.number if rule.house_rule else None,
        "hourly_limit": rule.hourly_limit,
        "created_at": rule.created_at,
    }


def _save_rule(member: Member, body: RuleIn, rule: Rule | None = None) -> Rule:
    house_rule = None
    if body.house_rule is not None:
        house_rule = HouseRule.objects.filter(
            workspace_id=member.workspace_id, number=body.house_rule
        ).first()
        if house_rule is None:
            raise ValidationError(f"No house rule has the number {body.house_rule}.")
    return do_save_rule(
        member,
        member.workspace,
        name=body.name,
        conditions=[c.dict() for c in body.conditions],
        actions=[a.dict() for a in body.actions],
        mode=body.mode,
        position=body.position,
        stop=body.stop,
        house_rule=house_rule,
        rule=rule,
    )


@router.get("/rules", response={200: list[RuleOut], **READ}, tags=["moderation"])
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    """The moderation rules, in the order they run."""
    return [_rule(r) for r in queries.rules_of(actor(request))]


@router.get("/rules/{rule_id}", response={200: RuleOut, **READ}, tags=["moderation"])
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return _rule(_rule_in(actor(request), rule_id))


@router.post("/rules", response={201: RuleOut, **WRITE}, tags=["moderation"])
def create_rule(request: HttpRequest, body: RuleIn) -> Status[Any]:
    """A new rule (managers and above, as on the rules page). Start it "off" and dry-run it."""
    member = actor(request)
    return Status(201, _rule(_save_rule(member, body)))


@router.put("/rules/{rule_id}", response={200: RuleOut, **WRITE}, tags=["moderation"])
def update_rule(request: HttpRequest, rule_id: int, body: RuleIn) -> dict[str, Any]:
    member = actor(request)
    return _rule(_save_rule(member, body, _rule_in(member, rule_id)))


@router.get("/rules/{rule_id}/dry-run", response={200: DryRunOut, **READ}, tags=["moderation"])
def dry_run_rule(request: HttpRequest, rule_id: int, weeks: int = 4) -> dict[str, Any]:
    """What the rule would have done over the last 1–12 weeks (4 by default), against what the
    team actually did."""
    result = dry_run(_rule_in(actor(request), rule_id), weeks=max(1, min(weeks, 12)))
    return {
        "weeks": result.weeks,
        "evaluated": result.evaluated,
        "hits": result.hits,
        "team_did": result.team_did,
        "agreed": result.agreed,
        "precision": result.precision,
        "recall": result.recall,
        "examples": list(result.examples),
    }


# --- personas ----------------------------------------------------------------------------------


def _persona_in(member: Member, pk: int) -> Persona:
    try:
        return Persona.objects.get(pk=pk, workspace_id=member.workspace_id)
    except Persona.DoesNotExist as exc:
        raise Http404 from exc


def _persona(member: Member, persona: Persona) -> dict[str, Any]:
    size = matching_contacts(member.workspace, persona.conditions, clock.now()).count()
    return {
        "id": persona.pk,
        "name": persona.name,
        "description": persona.description,
        "conditions": persona.conditions if isinstance(persona.conditions, list) else [],
        "size": size,
        "created_at": persona.created_at,
    }


@router.get("/personas", response={200: list[PersonaOut], **READ}, tags=["insights"])
def list_personas(request: HttpRequest) -> list[Any]:
    """The workspace's personas with their size (the contacts each holds now)."""
    member = actor(request)
    return [_persona(member, p) for p in Persona.objects.filter(workspace_id=member.workspace_id)]


@router.get("/personas/{persona_id}", response={200: PersonaOut, **READ}, tags=["insights"])
def get_persona(request: HttpRequest, persona_id: int) -> dict[str, Any]:
    member = actor(request)
    return _persona(member, _persona_in(member, persona_id))


@router.get(
    "/personas/{persona_id}/members",
    response={200: ContactPage, 400: Error, **READ},
    tags=["insights"],
)
def persona_members(
    request: HttpRequest, persona_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    """The contacts the persona holds now, newest first, paged by cursor."""
    member = actor(request)
    persona = _persona_in(member, persona_id)
    contacts = matching_contacts(member.workspace, persona.conditions, clock.now())
    result = page(contacts, CONTACTS_ORDER, params.cursor, params.limit)
    return {"items": [contact_row(c) for c in result.rows], "next_cursor": result.next_cursor}


@router.post("/personas", response={201: PersonaOut, **WRITE}, tags=["insights"])
def create_persona(request: HttpRequest, body: PersonaIn) -> Status[Any]:
    """A new persona (managers and above, as on the personas page)."""
    member = actor(request)
    saved = do_save_persona(
        member,
        member.workspace,
        name=body.name,
        description=body.description,
        conditions=body.conditions,
    )
    return Status(201, _persona(member, saved))


@router.put("/personas/{persona_id}", response={200: PersonaOut, **WRITE}, tags=["insights"])
def update_persona(request: HttpRequest, persona_id: int, body: PersonaIn) -> dict[str, Any]:
    member = actor(request)
    saved = do_save_persona(
        member,
        member.workspace,
        name=body.name,
        description=body.description,
        conditions=body.conditions,
        persona=_persona_in(member, persona_id),
    )
    return _persona(member, saved)


@router.delete("/personas/{persona_id}", response=NO_CONTENT, tags=["insights"])
def delete_persona(request: HttpRequest, persona_id: int) -> Status[None]:
    member = actor(request)
    do_delete_persona(member, _persona_in(member, persona_id))
    return Status(204, None)


# --- goals -----------------------------------------------------------------------------------


def _goal_in(member: Member, pk: int) -> Goal:
    try:
        return Goal.objects.select_related("workspace", "owner__user").get(
            pk=pk, workspace_id=member.workspace_id
        )
    except Goal.DoesNotExist as exc:
        raise Http404 from exc


def _goal(status: GoalStatus) -> dict[str, Any]:
    goal = status.goal
    return {
        "id": goal.pk,
        "name": goal.name,
        "kpi": goal.kpi,
        "minutes": goal.minutes,
        "business_hours": goal.business_hours,
        "comparison": goal.comparison,
        "target": goal.target,
        "period": goal.period,
        "owner": {"id": goal.owner.pk, "name": goal.owner.name} if goal.owner else None,
        "created_at": goal.created_at,
        "start": status.start,
        "end": status.end,
        "value": status.value,
        "previous": status.previous,
        "projected": status.projected,
        "status": str(status.status),
        "previous_status": str(status.previous_status),
    }


@router.get("/goals", response={200: list[GoalOut], **READ}, tags=["insights"])
def list_goals(request: HttpRequest) -> list[Any]:
    """The workspace's goals with their live status (value so far, projection, on track or at risk)."""
    member = actor(request)
    goals = Goal.objects.filter(workspace_id=member.workspace_id).select_related(
        "workspace", "owner__user"
    )
    return [_goal(goal_status(goal)) for goal in goals]


@router.get("/goals/{goal_id}", response={200: GoalOut, **READ}, tags=["insights"])
def get_goal(request: HttpRequest, goal_id: int) -> dict[str, Any]:
    return _goal(goal_status(_goal_in(actor(request), goal_id)))


def _save_goal(member: Member, body: GoalIn, goal: Goal) -> dict[str, Any]:
    goal.name, goal.kpi, goal.minutes = body.name, body.kpi, body.minutes
    goal.business_hours, goal.comparison = body.business_hours, body.comparison
    goal.target, goal.period = body.target, body.period
    goal.owner = inbox_queries.member_for(member, body.owner_id) if body.owner_id else None
    saved = do_save_goal(member, member.workspace, goal)
    return _goal(goal_status(_goal_in(member, saved.pk)))


@router.post("/goals", response={201: GoalOut, **WRITE}, tags=["insights"])
def create_goal(request: HttpRequest, body: GoalIn) -> Status[Any]:
    """A new goal (managers and above, as on the goals page)."""
    member = actor(request)
    return Status(201, _save_goal(member, body, Goal(workspace=member.workspace)))


@router.put("/goals/{goal_id}", response={200: GoalOut, **WRITE}, tags=["insights"])
def update_goal(request: HttpRequest, goal_id: int, body: GoalIn) -> dict[str, Any]:
    member = actor(request)
    return _save_goal(member, body, _goal_in(member, goal_id))


@router.delete("/goals/{goal_id}", response=NO_CONTENT, tags=["insights"])
def delete_goal(request: HttpRequest, goal_id: int) -> Status[None]:
    member = actor(request)
    do_delete_goal(member, _goal_in(member, goal_id))
    return Status(204, None)
