"""What a page knows of who asks is read afresh on every request, in few queries: the member
(with the login's two-factor facts and all its memberships) in one query, the header's counts in
another. Nothing is cached between requests, so a deactivated member, a new authenticator, a new
sign-in policy, a logout, a new notification or crisis apply on the very next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from cercle.accounts.actions import do_reset_two_factor, do_set_sign_in_policy
from cercle.moderation.models import CrisisAlert
from cercle.notifications.models import Notification
from cercle.workspaces.actions import do_add_member, do_create_workspace, do_deactivate_member
from cercle.workspaces.choices import Role, Verb
from cercle.workspaces.models import Activity

PASSWORD = "correct horse battery"
INBOX = reverse("inbox:index")


def sign_in(username: str) -> Client:
    client = Client()
    client.post(reverse("workspaces:login"), {"username": username, "password": PASSWORD})
    return client


def _queries_of(client: Client, table: str) -> list[str]:
    """The queries one inbox page runs that name `table`."""
    with CaptureQueriesContext(connection) as run:
        assert client.get(INBOX).status_code == 200
    return [q["sql"] for q in run.captured_queries if f'"{table}"' in q["sql"]]


def test_a_deactivated_member_is_refused_on_the_next_request(owner, agent):
    sam = sign_in("sam")
    before = sam.get(INBOX).status_code
    do_deactivate_member(owner, agent)
    assert (before, sam.get(INBOX).status_code) == (200, 403)


@pytest.mark.parametrize("device_model", [TOTPDevice, StaticDevice])
def test_a_device_added_elsewhere_asks_for_its_code_on_the_next_request(agent, device_model):
    sam = sign_in("sam")
    before = sam.get(INBOX).status_code
    device_model.objects.create(user=agent.user, name="added", confirmed=True)
    after = sam.get(INBOX)
    assert (before, after.status_code, after["Location"].split("?")[0]) == (
        200,
        302,
        reverse("accounts:verify"),
    )


def test_an_unconfirmed_device_asks_for_nothing(agent):
    sam = sign_in("sam")
    TOTPDevice.objects.create(user=agent.user, name="pending", confirmed=False)
    assert sam.get(INBOX).status_code == 200


def test_a_removed_device_no_longer_asks_for_a_code(owner, agent):
    TOTPDevice.objects.create(user=agent.user, name="lost", confirmed=True)
    sam = sign_in("sam")
    before = sam.get(INBOX).status_code
    do_reset_two_factor(owner, agent)
    assert (before, sam.get(INBOX).status_code) == (302, 200)


def test_a_policy_set_now_sends_members_without_a_device_to_the_setup_page(owner, agent, workspace):
    sam = sign_in("sam")
    before = sam.get(INBOX).status_code
    do_set_sign_in_policy(owner, workspace, require_two_factor=True)
    after = sam.get(INBOX)
    assert (before, after.status_code, after["Location"]) == (
        200,
        302,
        reverse("accounts:two_factor"),
    )


def test_the_policy_of_another_workspace_of_the_login_applies_too(owner, agent):
    other = do_create_workspace("Atelier Lune")
    other_owner = do_add_member(other, owner.user, Role.OWNER)
    do_add_member(other, agent.user, Role.AGENT)
    sam = sign_in("sam")
    page = sam.get(INBOX).content.decode()
    do_set_sign_in_policy(other_owner, other, require_two_factor=True)
    # The switcher lists both workspaces (read with the member, no query of its own).
    assert ("Atelier Lune" in page, "Maison Lumen" in page) == (True, True)
    assert sam.get(INBOX)["Location"] == reverse("accounts:two_factor")


def test_a_logged_out_session_is_refused_even_with_its_cookie_replayed(agent):
    sam = sign_in("sam")
    stolen = Client()
    stolen.cookies = sam.cookies.__class__(sam.cookies)
    before = stolen.get(INBOX).status_code
    sam.post(reverse("workspaces:logout"))
    after = stolen.get(INBOX)
    assert (before, after.status_code, after["Location"].split("?")[0]) == (
        200,
        302,
        reverse("workspaces:login"),
    )


def test_a_role_change_applies_on_the_next_request(owner, agent, workspace):
    sam = sign_in("sam")
    before = sam.get(reverse("workspaces:audit")).status_code
    do_add_member(workspace, agent.user, Role.ADMIN)
    assert (before, sam.get(reverse("workspaces:audit")).status_code) == (403, 200)


def test_the_member_and_two_factor_facts_cost_one_query(owner):
    lea = sign_in("lea")
    lea.get(INBOX)
    with CaptureQueriesContext(connection) as run:
        assert lea.get(INBOX).status_code == 200
    facts = [
        q["sql"]
        for q in run.captured_queries
        if "otp_" in q["sql"] or "accounts_signinpolicy" in q["sql"]
    ]
    # The memberships, the login's devices (each kind) and the policies: one query.
    assert (len(facts), facts[0].count("EXISTS")) == (1, 3)
    assert facts[0].startswith('SELECT "workspaces_member"."id"')


def test_the_bell_and_the_crisis_banner_show_at_once_in_one_query(owner, sim_channel):
    lea = sign_in("lea")
    quiet = _queries_of(lea, "notifications_notification")
    activity = Activity.objects.create(workspace=owner.workspace, verb=Verb.ASSIGNED, actor=owner)
    Notification.objects.create(
        workspace=owner.workspace, member=owner, activity=activity, kind="assignment"
    )
    CrisisAlert.objects.create(
        workspace=owner.workspace,
        channel=sim_channel,
        signal="volume",
        started_at=timezone.now(),
        last_seen_at=timezone.now(),
        observed=40.0,
        baseline=4.0,
        peak=40.0,
    )
    page = lea.get(INBOX).content.decode()
    # With nothing unread the header asks once; the newest unread one is read when there is one.
    assert len(quiet) == 1
    assert ('data-unread="1"' in page, "crisis-banner" in page) == (True, True)
