"""Listening helpers: Mastodon and Reddit channels, and their search answers at the HTTP boundary."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cercle.connectors.http import transport
from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.models import Workspace

CONNECTORS = Path(__file__).resolve().parents[2] / "cercle" / "connectors"


def recorded(platform: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONNECTORS / platform / "fixtures" / name).read_text())
    return data


class Platforms:
    """Answers the search endpoints from the fixtures (bodies editable per test); records requests."""

    def __init__(self) -> None:
        self.mastodon = copy.deepcopy(recorded("mastodon", "search_statuses.json")["body"])
        self.reddit = copy.deepcopy(recorded("reddit", "search_new.json")["body"])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v2/search":
            return httpx.Response(200, json=self.mastodon)
        if request.url.path == "/search":
            return httpx.Response(200, json=self.reddit)
        if request.url.host == "carnet-deco.example":
            body = (CONNECTORS / "rss" / "fixtures" / "lumen_blog.xml").read_bytes()
            return httpx.Response(
                200, content=body, headers={"content-type": "application/rss+xml"}
            )
        return httpx.Response(404, json={"error": "not found"})


# A day after the answers' posts (14 October 2026): the first run reads back two days.
NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    fake = Platforms()
    with transport(httpx.MockTransport(fake)), clock.at(NOW):
        yield fake


def mastodon_channel(workspace: Workspace, instance: str = "http://localhost:3000") -> Channel:
    return do_create_channel(
        workspace,
        "mastodon",
        "@lumen",
        external_id=f"{instance}/@lumen",
        config={"api_base": instance, "account_id": "117440810532227399"},
        credentials={"access_token": "tok"},
    )


def reddit_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "reddit",
        "u/maisonlumen",
        external_id="maisonlumen",
        config={"api_base": "https://oauth.reddit.com", "subreddit": "maisonlumen"},
        credentials={
            "client_id": "app",
            "client_secret": "app-secret",
            "access_token": "tok-1",
            "refresh_token": "refresh-1",
            "username": "maisonlumen",
        },
    )


def rss_channel(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace,
        "rss",
        "Carnet déco",
        config={"feed_url": "https://carnet-deco.example/feed.xml", "keywords": "salon"},
    )
