"""Signals the workspaces app sends to the layers above it (they connect in their `apps.py`).

Workspaces sits below the inbox: it cannot unassign conversations itself. When a
member is deactivated it says so, inside the deactivation's transaction, and the
workflow app hands their open work back (see cercle/workflow/apps.py).
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that deactivates a member; kwargs: member, actor.
member_deactivated = Signal()
