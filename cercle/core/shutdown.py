"""Whether this process was asked to stop (SIGTERM or Ctrl-C to `cercle worker`).

The worker sets `stopping` on the first signal; long drains check `requested()`
between their batches and return early. What they leave is still pending in the
database and the next worker drains it: a drain's work is committed batch by
batch, so stopping between two batches loses nothing.
"""

from __future__ import annotations

import threading

stopping = threading.Event()


def requested() -> bool:
    """Whether a graceful stop was asked for: finish the current batch, start no other."""
    return stopping.is_set()
