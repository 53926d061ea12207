"""Signals the inbox sends to the layers above it (they connect in their `apps.py`).

The inbox never imports the pipeline: it writes an Outbox row and, once the
transaction commits, says so; the pipeline's sender listens and wakes up.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the commit of a transaction that wrote one or more Outbox rows.
outbox_written = Signal()
