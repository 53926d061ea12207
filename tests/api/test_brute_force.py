"""Brute force on API tokens: failures counted per client address, then the address locked out.

What docs/security.md promises for the API's tokens: a guessed, revoked or
expired token counts one failure against the client's address; past
CERCLE_API_FAILED_AUTH_LIMIT failures in a window the address gets 429 (with
Retry-After) before any token is looked at, even a right one, until the window
ends; the lockout is per address, and a locked-out request does not extend it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from cercle.api.actions import do_create_api_token, do_revoke_api_token
from cercle.api.models import ApiToken, RateWindow
from cercle.core import clock
from tests.api.conftest import API

LIMIT = 5


@pytest.fixture
def limits(settings):
    settings.CERCLE_API_RATE_LIMIT = 1000
    settings.CERCLE_API_RATE_WINDOW = 60
    settings.CERCLE_API_FAILED_AUTH_LIMIT = LIMIT


def _me(client: Client, secret: str):
    return client.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"})


def _failures(address: str) -> int:
    return sum(RateWindow.objects.filter(scope=f"fail:{address}").values_list("count", flat=True))


def test_every_guess_counts_whatever_the_token_then_the_address_is_locked_out(limits, owner_api):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    codes = [_me(attacker, f"cercle_guess{i}").status_code for i in range(LIMIT + 3)]
    assert codes == [401] * LIMIT + [429] * 3
    assert _failures("203.0.113.9") == LIMIT  # the refused requests are not counted again
    locked = _me(attacker, owner_api.secret)
    assert locked.status_code == 429 and 1 <= int(locked["Retry-After"]) <= 60
    assert "failed authentication" in locked.json()["detail"]


def test_the_lockout_ends_with_the_window(limits, owner_api):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(LIMIT):
        _me(attacker, f"cercle_guess{i}")
    assert _me(attacker, owner_api.secret).status_code == 429
    with clock.at(clock.now() + timedelta(seconds=61)):
        assert _me(attacker, owner_api.secret).status_code == 200
        # A new window, a new budget of failures: still bounded.
        codes = [_me(attacker, f"cercle_again{i}").status_code for i in range(LIMIT + 1)]
        assert codes == [401] * LIMIT + [429]


def test_the_lockout_is_per_address(limits, owner_api):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(LIMIT):
        _me(attacker, f"cercle_guess{i}")
    assert _me(attacker, owner_api.secret).status_code == 429
    colleague = Client(REMOTE_ADDR="198.51.100.4")
    assert _me(colleague, owner_api.secret).status_code == 200
    assert _failures("198.51.100.4") == 0


def test_revoked_expired_malformed_and_missing_tokens_count_as_failures(limits, owner):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    revoked = do_create_api_token(owner, "old", "owner")
    do_revoke_api_token(owner, ApiToken.objects.get(pk=revoked.token.pk))
    expiring = do_create_api_token(
        owner, "soon", "owner", expires_at=clock.now() + timedelta(minutes=1)
    )
    assert _me(attacker, revoked.secret).status_code == 401
    with clock.at(clock.now() + timedelta(minutes=2)):
        assert _me(attacker, expiring.secret).status_code == 401
    assert _me(attacker, "x" * 500).status_code == 401  # too long to be looked up
    assert _me(attacker, "").status_code == 401
    assert _failures("203.0.113.9") >= 3


def test_a_right_token_does_not_reset_the_failures(limits, owner_api):
    """Mixing guesses with a known token of one's own does not buy more guesses."""
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(LIMIT - 1):
        assert _me(attacker, f"cercle_guess{i}").status_code == 401
    assert _me(attacker, owner_api.secret).status_code == 200
    assert _me(attacker, "cercle_last_guess").status_code == 401
    assert _me(attacker, "cercle_one_more").status_code == 429


def test_guesses_never_reach_a_write(limits, owner_api, conversation):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(LIMIT + 2):
        response = attacker.post(
            f"{API}/conversations/{conversation.pk}/notes",
            {"text": "guess"},
            content_type="application/json",
            headers={"Authorization": f"Bearer cercle_guess{i}"},
        )
        assert response.status_code in (401, 429)
    assert conversation.messages.filter(direction="note").count() == 0
