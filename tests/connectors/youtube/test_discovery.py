"""Every request the connector sends matches a method of YouTube's discovery document.

`fixtures/discovery_subset.json` is copied from the discovery document shipped in
google-api-python-client (see its `_note`); the project does not depend on that
library.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cercle.connectors.base import ActionKind, OutboundAction
from cercle.connectors.models import Channel
from cercle.connectors.registry import connector_for

from .conftest import API, FakeYouTube, fixture, query

DISCOVERY = fixture("discovery_subset.json")


def _method_for(request: httpx.Request) -> tuple[str, dict[str, Any]]:
    path = str(request.url).split("?")[0].removeprefix(API.removesuffix("/youtube/v3") + "/")
    for name, method in DISCOVERY["methods"].items():
        if method["httpMethod"] == request.method and method["path"] == path:
            return name, method
    raise AssertionError(f"{request.method} {path} is not a YouTube Data API method")


def _problems(request: httpx.Request) -> list[str]:
    name, method = _method_for(request)
    params = method["parameters"]
    sent = query(request)
    problems = [f"{name}: unknown parameter {p}" for p in sent if p not in params]
    problems += [
        f"{name}: missing {p}"
        for p, spec in params.items()
        if spec.get("required") and p not in sent
    ]
    for p, value in sent.items():
        spec = params.get(p, {})
        if "enum" in spec and value not in spec["enum"]:
            problems.append(f"{name}: {p}={value} not in {spec['enum']}")
        if spec.get("type") == "integer" and not (
            int(spec.get("minimum", 0)) <= int(value) <= int(spec.get("maximum", 2**31))
        ):
            problems.append(f"{name}: {p}={value} out of range")
        if spec.get("type") == "boolean" and value not in {"true", "false"}:
            problems.append(f"{name}: {p}={value} is not a boolean")
    if "request" in method:
        problems += _schema_problems(name, json.loads(request.content), method["request"]["$ref"])
    elif request.content:
        problems.append(f"{name}: takes no body")
    return problems


def _schema_problems(name: str, body: Any, schema_name: str) -> list[str]:
    schema = DISCOVERY["schemas"][schema_name]
    problems = []
    for key, value in body.items():
        prop = schema["properties"].get(key)
        if prop is None:
            problems.append(f"{name}: {schema_name}.{key} is not a field")
        elif "$ref" in prop:
            problems += _schema_problems(name, value, prop["$ref"])
        elif prop.get("readOnly"):
            problems.append(f"{name}: {schema_name}.{key} is read-only")
    return problems


@pytest.fixture
def every_request(fake: FakeYouTube, yt_channel: Channel) -> list[httpx.Request]:
    """Run every call the connector makes against a permissive fake; return the requests."""
    threads = fixture("comment_threads_published.json")
    threads["nextPageToken"] = "QURTSl9pM0xmQWNj"
    fake.on("GET", "/commentThreads", threads)
    replies = fixture("comments_replies.json")
    fake.on("GET", "/comments", replies)
    fake.on("POST", "/comments", fixture("comment_insert.json"))
    fake.on("POST", "/comments/setModerationStatus", httpx.Response(204))
    fake.on("DELETE", "/comments", httpx.Response(204))
    fake.on("GET", "/channels", fixture("channels_mine.json"))
    connector = connector_for(yt_channel)
    page = connector.poll(None)
    connector.poll(page.cursor)  # the second page, with a pageToken
    top = "UgxISZhP_62DIrtv2r94AaABAg"
    reply = OutboundAction(
        kind=ActionKind.REPLY, idempotency_key="k", target_external_id=top, text="Merci !"
    )
    connector.perform(reply)
    connector.reconcile(reply)
    for kind in (ActionKind.HIDE, ActionKind.UNHIDE, ActionKind.BAN):
        connector.perform(OutboundAction(kind=kind, idempotency_key="k", target_external_id=top))
    delete_own = OutboundAction(
        kind=ActionKind.DELETE, idempotency_key="k", target_external_id=top + ".x"
    )
    connector.perform(delete_own)
    connector.reconcile(delete_own)
    connector.test_connection()
    return fake.requests


def test_every_request_matches_the_discovery_document(every_request: list[httpx.Request]) -> None:
    assert [p for r in every_request for p in _problems(r)] == []


def test_the_scenario_covers_every_method_we_use(every_request: list[httpx.Request]) -> None:
    used = {_method_for(r)[0] for r in every_request}
    assert used == set(DISCOVERY["methods"])


def test_the_check_catches_a_wrong_parameter() -> None:
    request = httpx.Request(
        "POST", API + "/comments/setModerationStatus?id=x&moderationStatus=hidden"
    )
    assert _problems(request) == [
        "comments.setModerationStatus: moderationStatus=hidden not in "
        "['published', 'heldForReview', 'likelySpam', 'rejected']"
    ]
