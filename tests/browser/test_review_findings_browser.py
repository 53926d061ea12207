"""Defects found in review that only a browser shows: each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_disconnecting_a_channel_asks_first_and_a_no_keeps_it(page, owner, sim_channel):
    login(page, "lea")
    page.goto("/channels/")
    # The page fixture answers every dialog with "Cancel".
    page.click(f"#channel-{sim_channel.pk} .btn-danger")
    sim_channel.refresh_from_db()
    asked = len(page.dialogs) == 1 and sim_channel.name in page.dialogs[0]
    assert (asked, sim_channel.is_active) == (True, True)
