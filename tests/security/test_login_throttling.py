"""Brute force on the login page (issue 13, attack 12): throttled per username and address,
refused even with the right password while locked, lifted by an owner or admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from cercle.accounts.actions import do_unlock_login
from cercle.accounts.queries import lockouts_in
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity

PASSWORD = "correct horse battery"
LOGIN = reverse("workspaces:login")


def attempt(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def hammered(owner, agent):
    """25 wrong passwords for sam from one address: the responses, in order."""
    client = Client()
    return [attempt(client, "sam", f"guess-{n}").status_code for n in range(25)]


def test_25_wrong_passwords_are_throttled_after_the_limit(hammered, settings):
    limit = settings.AXES_FAILURE_LIMIT
    # The first failures get the ordinary "didn't match" form (200); from the limit on, 429.
    assert hammered == [200] * (limit - 1) + [429] * (25 - limit + 1)


def test_the_right_password_is_refused_while_locked_and_says_why(hammered):
    client = Client()
    response = attempt(client, "sam", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert (
        'name="username" id="id_username" autocomplete="username" autofocus required value="sam"'
        in page
    )
    assert not logged_in(client)


def test_the_lockout_holds_for_that_address_only(hammered):
    """Per username and address: a stranger failing on purpose cannot lock sam out elsewhere."""
    client = Client()
    response = attempt(client, "sam", PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302 and logged_in(client)


def test_other_usernames_from_the_same_address_are_not_locked(hammered):
    client = Client()
    attempt(client, "lea", PASSWORD)
    assert logged_in(client)


def test_a_few_typos_then_the_right_password_resets_the_count(owner, agent, settings):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "sam", f"typo-{n}")
    attempt(client, "sam", PASSWORD)
    client.logout()
    statuses = [attempt(Client(), "sam", "typo").status_code for _ in range(2)]
    assert statuses == [200, 200]


def test_the_owner_sees_the_lockout_and_unlocks_it(hammered, owner, agent, workspace):
    admin = Client()
    admin.force_login(owner.user)
    page = admin.get(reverse("accounts:security")).content.decode()
    assert 'id="lockouts"' in page and "203.0.113.7" in page and "Unlock" in page

    admin.post(reverse("accounts:unlock", args=[agent.pk]))

    client = Client()
    response = attempt(client, "sam", PASSWORD)
    assert (response.status_code, logged_in(client), lockouts_in(workspace)) == (302, True, [])
    assert Activity.objects.get(verb=Verb.LOGIN_UNLOCKED).actor_id == owner.pk


def test_an_agent_can_neither_see_nor_lift_a_lockout(hammered, owner, agent, workspace):
    lea = Client()
    # sam's lockout is from one address; lea signs in from another.
    attempt(lea, "lea", PASSWORD, ip="198.51.100.1")
    do_unlock_login(owner, agent)  # lift sam's so he can sign in and try
    for n in range(25):
        attempt(Client(), "lea", f"guess-{n}")
    sam = Client()
    attempt(sam, "sam", PASSWORD)
    page = sam.get(reverse("accounts:security")).content.decode()
    assert sam.post(reverse("accounts:unlock", args=[owner.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        do_unlock_login(agent, owner)
    assert "203.0.113.7" not in page and len(lockouts_in(workspace)) == 1


def test_an_admin_of_another_workspace_cannot_lift_a_lockout(hammered, agent):
    other = do_create_workspace("Other")
    stranger = do_add_member(other, do_create_user("eve", PASSWORD), Role.OWNER)
    client = Client()
    client.force_login(stranger.user)
    assert client.post(reverse("accounts:unlock", args=[agent.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        do_unlock_login(stranger, agent)
    assert attempt(Client(), "sam", PASSWORD).status_code == 429


def test_a_lockout_is_not_stored_with_the_password(hammered):
    from axes.models import AccessAttempt

    stored = " ".join(a.post_data for a in AccessAttempt.objects.all())
    assert "guess-3" not in stored and "****" in stored
