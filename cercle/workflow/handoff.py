"""Handing work back when a member leaves: their open conversations are unassigned.

Connected in `apps.py` to `workspaces.signals.member_deactivated` (workspaces sits
below the inbox and cannot call it). With automatic assignment on, the ones
still waiting for an answer are then in the backlog, and the hand-out drain
(`actions.do_hand_out`) gives them to others, oldest first.
"""

from __future__ import annotations

from typing import Any

from cercle.inbox.actions import do_unassign_member
from cercle.workspaces.actors import Automation
from cercle.workspaces.choices import AutomationKind
from cercle.workspaces.models import Member

# The name the timeline shows for this automation.
HANDOFF_NAME = "Member deactivated"


def unassign_deactivated_member(sender: Any, *, member: Member, **kwargs: Any) -> None:
    """Unassign the conversations of `member`, as the routing automation of their workspace."""
    actor = Automation(
        workspace_id=member.workspace_id, kind=AutomationKind.ROUTING, name=HANDOFF_NAME
    )
    do_unassign_member(actor, member)
