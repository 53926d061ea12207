"""Fixtures shared by the wire tests (each module defines its `wire`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cercle.simulator.wire.base import SimAction
from tests.simulator.wire_routing import routed_to


@pytest.fixture
def actions() -> list[SimAction]:
    """What the wire saw the connector do, in order."""
    return []


@pytest.fixture
def routed(wire) -> Iterator[list[httpx.Request]]:
    """Every connector request goes to `wire.handle`, as the fake platform server would route it."""
    with routed_to(wire) as seen:
        yield seen
