"""The rate limit per token (429, Retry-After, X-RateLimit-*), and failed authentications throttled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from cercle.api.actions import do_count_request
from cercle.api.models import RateWindow
from cercle.core import clock
from tests.api.conftest import API


@pytest.fixture
def small_limits(settings):
    settings.CERCLE_API_RATE_LIMIT = 3
    settings.CERCLE_API_RATE_WINDOW = 60
    settings.CERCLE_API_FAILED_AUTH_LIMIT = 2


def test_headers_count_down_then_429_with_retry_after(small_limits, owner_api):
    remaining = []
    for _ in range(3):
        response = owner_api.get("/me")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert 0 < int(response["X-RateLimit-Reset"]) <= 60
        remaining.append(response["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = owner_api.get("/me")
    assert refused.status_code == 429 and "Rate limit" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"


def test_the_next_window_starts_afresh(small_limits, owner_api):
    for _ in range(4):
        owner_api.get("/me")
    assert owner_api.get("/me").status_code == 429
    with clock.at(clock.now() + timedelta(seconds=61)):
        response = owner_api.get("/me")
        assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "2"
    assert RateWindow.objects.filter(scope__startswith="token:").count() == 1  # old window gone


def test_each_token_has_its_own_limit(small_limits, owner_api, agent_api):
    for _ in range(4):
        owner_api.get("/me")
    assert owner_api.get("/me").status_code == 429
    assert agent_api.get("/me").status_code == 200


def test_failed_authentications_are_throttled_per_address(small_limits, owner_api):
    client = Client()
    for _ in range(2):
        bad = client.get(f"{API}/me", headers={"Authorization": "Bearer cercle_guess"})
        assert bad.status_code == 401
    # Past the limit of failures, even a right token from that address waits for the window.
    blocked = client.get(f"{API}/me", headers={"Authorization": f"Bearer {owner_api.secret}"})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) >= 1
    assert "failed authentication" in blocked.json()["detail"]
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    response = other_address.get(
        f"{API}/me", headers={"Authorization": f"Bearer {owner_api.secret}"}
    )
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_are_never_lost():
    """Four threads (four connections, like four processes) count 25 requests each."""
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(25):
                do_count_request("token:race", 1_000)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert RateWindow.objects.get(scope="token:race", window_start=1_000).count == 100
