"""Personal API tokens: the secret is hashed at rest and shown once; revoke, expiry, role cap."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from cercle.api.actions import (
    ActionRefused,
    do_create_api_token,
    do_revoke_api_token,
    hash_secret,
)
from cercle.api.models import ApiToken
from cercle.core import clock
from cercle.workspaces.actions import do_change_member_role, do_deactivate_member
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity
from tests.api.conftest import API, Caller


def test_the_secret_is_never_stored_only_its_hash(owner):
    created = do_create_api_token(owner, "Export", Role.AGENT)
    token = ApiToken.objects.get(pk=created.token.pk)
    assert created.secret.startswith("cercle_") and len(created.secret) > 40
    assert token.token_hash == hash_secret(created.secret)
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(created.secret in value for value in stored)
    assert token.prefix == created.secret[: len(token.prefix)] and len(token.prefix) < 16
    activity = Activity.objects.get(verb=Verb.API_TOKEN_CREATED)
    assert activity.actor_id == owner.pk and created.secret not in str(activity.data)


def test_a_token_authenticates_and_a_wrong_one_is_401(owner):
    created = do_create_api_token(owner, "Export", Role.AGENT)
    client = Client()
    ok = client.get(f"{API}/me", headers={"Authorization": f"Bearer {created.secret}"})
    assert ok.status_code == 200
    assert ok.json()["role"] == "agent" and ok.json()["member"]["id"] == owner.pk
    bad = client.get(f"{API}/me", headers={"Authorization": f"Bearer {created.secret}x"})
    assert bad.status_code == 401 and "Bearer" in bad.json()["detail"]
    assert bad["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"{API}/me").status_code == 401


def test_the_secret_is_never_returned_again(owner):
    created = do_create_api_token(owner, "Export", Role.AGENT)
    caller = Caller(Client(), created.secret, owner)
    assert created.secret not in caller.get("/me").content.decode()
    owner_client = Client()
    owner_client.force_login(owner.user)
    page = owner_client.get("/settings/api-tokens/").content.decode()
    assert created.token.prefix in page and created.secret not in page


def test_revoked_token_is_refused_at_once(owner):
    created = do_create_api_token(owner, "Export", Role.AGENT)
    caller = Caller(Client(), created.secret, owner)
    assert caller.get("/me").status_code == 200
    do_revoke_api_token(owner, created.token)
    assert caller.get("/me").status_code == 401
    assert Activity.objects.filter(verb=Verb.API_TOKEN_REVOKED, actor=owner).count() == 1


def test_expired_token_is_refused(owner):
    created = do_create_api_token(
        owner, "Short", Role.AGENT, expires_at=clock.now() + timedelta(days=1)
    )
    caller = Caller(Client(), created.secret, owner)
    assert caller.get("/me").status_code == 200
    with clock.at(clock.now() + timedelta(days=2)):
        assert caller.get("/me").status_code == 401


def test_deactivated_members_tokens_are_refused(owner, agent):
    created = do_create_api_token(agent, "Bot", Role.AGENT)
    do_deactivate_member(owner, agent)
    assert Caller(Client(), created.secret, agent).get("/me").status_code == 401


def test_role_cannot_exceed_the_members(agent):
    with pytest.raises(ActionRefused):
        do_create_api_token(agent, "Too much", Role.ADMIN)


def test_the_members_current_role_still_caps_the_token(owner, agent):
    created = do_create_api_token(agent, "Bot", Role.AGENT)
    do_change_member_role(owner, agent, Role.VIEWER)
    caller = Caller(Client(), created.secret, agent)
    assert caller.get("/me").json()["role"] == "viewer"


def test_an_agent_cannot_revoke_anothers_token_an_admin_can(owner, agent):
    created = do_create_api_token(owner, "Owner's", Role.OWNER)
    with pytest.raises(ActionRefused):
        do_revoke_api_token(agent, created.token)
    mine = do_create_api_token(agent, "Mine", Role.AGENT)
    do_revoke_api_token(owner, mine.token)
    assert ApiToken.objects.get(pk=mine.token.pk).revoked_at is not None


def test_settings_page_creates_shows_once_and_revokes(agent):
    client = Client()
    client.force_login(agent.user)
    response = client.post(
        "/settings/api-tokens/", {"name": "Weekly export", "role": "viewer", "expires_in": "30"}
    )
    assert response.status_code == 302
    token = ApiToken.objects.get(member=agent)
    assert token.role == "viewer" and token.expires_at is not None
    first = client.get("/settings/api-tokens/").content.decode()
    secret = re.search(r'readonly value="(cercle_[\w-]+)"', first).group(1)
    assert hash_secret(secret) == token.token_hash
    assert secret not in client.get("/settings/api-tokens/").content.decode()
    # A role above the agent's own is not offered, and refused if posted.
    client.post("/settings/api-tokens/", {"name": "x", "role": "owner", "expires_in": "0"})
    assert ApiToken.objects.filter(member=agent).count() == 1
    client.post(f"/settings/api-tokens/{token.pk}/revoke")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_another_workspaces_token_page_entry_is_a_404(owner, elsewhere):
    theirs = do_create_api_token(elsewhere.member, "Theirs", Role.OWNER)
    client = Client()
    client.force_login(owner.user)
    assert client.post(f"/settings/api-tokens/{theirs.token.pk}/revoke").status_code == 404
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None


def test_operators_admin_lists_tokens_without_their_hash(client, owner):
    from django.contrib.auth import get_user_model

    created = do_create_api_token(owner, "Export", Role.AGENT)
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct horse battery")
    assert client.login(username="ops", password="correct horse battery")
    listing = client.get("/admin/api/apitoken/").content.decode()
    detail = client.get(f"/admin/api/apitoken/{created.token.pk}/change/").content.decode()
    assert created.token.prefix in listing
    for page in (listing, detail):
        assert created.secret not in page and created.token.token_hash not in page
    assert client.get("/admin/api/apitoken/add/").status_code == 403
