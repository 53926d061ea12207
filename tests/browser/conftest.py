"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Skipped (with a visible reason) when /usr/bin/chromium is missing. Never runs
`playwright install`: the system chromium is the browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SKIP_REASON = (
    "browser tests skipped: install Debian's chromium (apt-get install chromium) to run them"
)
PASSWORD = "correct horse battery"

# Playwright's sync API runs an event loop in this thread; Django would refuse
# ORM calls from the test body (which creates the data) without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder; skip them all, saying why, without chromium."""
    for item in items:
        if _HERE not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.xdist_group("browser"))
        if not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def pytest_report_header(config: pytest.Config) -> str | None:
    return None if CHROMIUM.exists() else SKIP_REASON


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_settings(settings: Any) -> Any:
    """Short SSE streams, so the threaded test server holds no reader after a test."""
    settings.CERCLE_LIVE_MAX_SECONDS = 3
    settings.CERCLE_LIVE_POLL_SECONDS = 0.2
    # A closed page is noticed at the next heartbeat write: make that soon.
    settings.CERCLE_LIVE_HEARTBEAT_SECONDS = 0.2
    return settings


@pytest.fixture
def page(
    browser: Any, live_server: Any, transactional_db: Any, live_settings: Any
) -> Iterator[Any]:
    """A fresh browser context and page; every dialog (alert, confirm) is recorded in `page.dialogs`."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    # Assertions wait as long as actions: two cores shared by xdist workers can be slow.
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    pg = context.new_page()
    pg.dialogs = []

    def on_dialog(dialog: Any) -> None:
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    # Stop the page's requests and live stream before the database is flushed:
    # SQLite's shared in-memory test database locks tables that are being read.
    pg.goto("about:blank")
    pg.wait_for_timeout(800)
    context.close()


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form and wait for the inbox."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("#list")
    # The page's scripts (keys, live list) run at load: a key pressed before is lost.
    page.wait_for_load_state("load")
