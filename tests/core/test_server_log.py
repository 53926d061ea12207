"""The server log: a 403 or a client that went away is one line, never a traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.urls import reverse

from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """What the configured console handler writes (the server's stderr)."""
    stream = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    handler = next(h for h in handlers if h.filters)
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_403_is_logged_without_a_traceback(client, workspace, server_log):
    user = do_create_user("paul", "correct horse battery")
    do_add_member(workspace, user, Role.VIEWER)
    client.force_login(user)
    response = client.post(reverse("pipeline:add"))
    log = server_log.getvalue()
    assert (response.status_code, "Forbidden" in log, "Traceback" in log) == (403, True, False)


def test_a_client_that_went_away_is_logged_without_a_traceback(server_log):
    try:
        raise BrokenPipeError(32, "Broken pipe")
    except BrokenPipeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert "Traceback" not in server_log.getvalue()
