"""A schema-driven fuzz of the API (schemathesis) against its own OpenAPI document: no 5xx.

The document is loaded from the running app (WSGI, in-process), every operation
gets valid and invalid requests generated from its schema, authenticated with
an owner's token, over a workspace holding real conversations. Bounded and
derandomised, so a run is short and repeatable.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from cercle.inbox.actions import do_add_note, do_tag_conversation
from tests.api.conftest import conversation_of

EXAMPLES = 10


@pytest.fixture
def app():
    """The WSGI app, minus the per-request closing of connections (as Django's test client does:
    the test's transaction lives on the connection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(settings, owner, agent, sim_channel, elsewhere):
    settings.CERCLE_API_RATE_LIMIT = 1_000_000
    settings.CERCLE_API_FAILED_AUTH_LIMIT = 1_000_000
    for i in range(3):
        conversation = conversation_of(sim_channel, f"f{i}", text=f"Question {i} 🌟 <b>")
        do_tag_conversation(owner, conversation, f"tag-{i}")
        do_add_note(owner, conversation, "note")


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, mode, auth, failures, statuses):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=auth)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            failures.append(
                f"{operation.label}: {response.status_code} for {case.as_curl_command()}"
            )

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_anywhere(app, fuzz_world, owner_api, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = _operations(schema)
    assert len(operations) >= 17
    auth = {"Authorization": f"Bearer {owner_api.secret}"}
    failures: list[str] = []
    statuses: dict[int, int] = {}

    for operation in operations:
        _fuzz(operation, mode, auth, failures, statuses)
    assert not failures, "\n".join(failures[:10])
    print(mode, dict(sorted(statuses.items())))
    # The requests reached the app: some were served, some refused as malformed or unknown.
    assert sum(n for code, n in statuses.items() if code < 300) > 0
    assert sum(n for code, n in statuses.items() if 400 <= code < 500) > 0
