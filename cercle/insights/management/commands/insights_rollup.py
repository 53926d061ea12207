"""Build (or bring up to date) the dashboard's rollups now, printing the progress.

    cercle manage insights_rollup

The worker's drain does the same a pass at a time; on a large history the first
build takes a while (see docs/index.md, Insights), and this command shows how far it got.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand

from cercle.inbox.models import Conversation
from cercle.insights.actions import do_roll_up
from cercle.insights.models import RollupState


class Command(BaseCommand):
    help = "Build the insights rollups now (the worker does it in the background), with progress."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        totals: dict[int, int] = {}
        passes = 0
        while True:
            report = do_roll_up(progress=self._progress(started))
            passes += 1
            if not report.worked:
                break
            lines = []
            for state in RollupState.objects.order_by("workspace_id"):
                if state.workspace_id not in totals:
                    totals[state.workspace_id] = Conversation.objects.filter(
                        workspace_id=state.workspace_id
                    ).count()
                done = (
                    totals[state.workspace_id]
                    if state.ready
                    else Conversation.objects.filter(
                        workspace_id=state.workspace_id, pk__lte=state.rebuilt_upto
                    ).count()
                )
                lines.append(
                    f"workspace {state.workspace_id}: {done}/{totals[state.workspace_id]} "
                    f"conversations{' (ready)' if state.ready else ''}"
                )
            self.stdout.write(
                f"pass {passes}: {report.activities} log rows, {report.conversations} "
                f"conversations, {report.days} days; {'; '.join(lines)}; "
                f"{time.perf_counter() - started:.0f} s"
            )
        self.stdout.write(f"rollups up to date in {time.perf_counter() - started:.1f} s")

    def _progress(self, started: float) -> Callable[[str], None]:
        def write(line: str) -> None:
            self.stdout.write(f"  {line}; {time.perf_counter() - started:.0f} s")

        return write
