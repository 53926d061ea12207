"""Two-factor authentication: an authenticator code (TOTP) or a one-time recovery code completes
the sign-in; nothing is served before; an owner can require it of every member."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cercle.accounts.actions import do_reset_two_factor, do_set_sign_in_policy
from cercle.workspaces.choices import Verb
from cercle.workspaces.models import Activity

PASSWORD = "correct horse battery"
INBOX = reverse("inbox:index")


def code_of(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def sign_in(username: str) -> Client:
    client = Client()
    client.post(reverse("workspaces:login"), {"username": username, "password": PASSWORD})
    return client


@pytest.fixture
def lea_with_2fa(owner):
    """Léa sets up her authenticator through the page; returns her device and recovery codes."""
    client = sign_in("lea")
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "data:image/svg+xml;base64," in page
    device = TOTPDevice.objects.get(user=owner.user, confirmed=False)
    done = client.post(
        reverse("accounts:two_factor"), {"action": "confirm", "code": code_of(device)}
    )
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    device.refresh_from_db()
    # The code just used cannot be used again: tests sign in with the next time step's code.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    return device, codes


def test_setting_it_up_needs_a_right_code_and_gives_ten_recovery_codes(lea_with_2fa, owner):
    device, codes = lea_with_2fa
    assert device.confirmed and len(codes) == 10
    assert Activity.objects.get(verb=Verb.TWO_FACTOR_ENABLED).actor_id == owner.pk


def test_a_wrong_setup_code_turns_nothing_on(owner):
    client = sign_in("lea")
    client.get(reverse("accounts:two_factor"))
    response = client.post(reverse("accounts:two_factor"), {"action": "confirm", "code": "000000"})
    assert response.status_code == 422
    assert not TOTPDevice.objects.filter(user=owner.user, confirmed=True).exists()


def test_the_password_alone_opens_nothing(lea_with_2fa):
    client = sign_in("lea")
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_a_wrong_code_is_refused_and_the_right_one_completes_the_sign_in(lea_with_2fa):
    device, _ = lea_with_2fa
    client = sign_in("lea")
    refused = client.post(reverse("accounts:verify"), {"code": "123456", "next": INBOX})
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp's delay after a failure, skipped here
    device.throttling_failure_timestamp = None
    device.save()
    done = client.post(reverse("accounts:verify"), {"code": code_of(device), "next": INBOX})
    assert (refused.status_code, done.status_code, done["Location"]) == (422, 302, INBOX)
    assert client.get(INBOX).status_code == 200


def test_a_recovery_code_works_once(lea_with_2fa):
    _, codes = lea_with_2fa
    first = sign_in("lea")
    first.post(reverse("accounts:verify"), {"code": codes[0]})
    again = sign_in("lea")
    reused = again.post(reverse("accounts:verify"), {"code": codes[0]})
    assert first.get(INBOX).status_code == 200
    assert reused.status_code == 422 and again.get(INBOX).status_code == 302


def test_the_verify_page_does_not_redirect_elsewhere(lea_with_2fa):
    _, codes = lea_with_2fa
    client = sign_in("lea")
    done = client.post(
        reverse("accounts:verify"), {"code": codes[1], "next": "https://evil.example/phish"}
    )
    assert done["Location"] == INBOX


def test_an_owner_can_require_it_and_a_member_without_it_is_sent_to_set_it_up(owner, agent):
    owner_client = sign_in("lea")
    owner_client.post(reverse("accounts:sign_in_policy"), {"require_two_factor": "on"})
    sam = sign_in("sam")
    response = sam.get(INBOX)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:two_factor")
    assert Activity.objects.get(verb=Verb.SIGN_IN_POLICY_CHANGED).data == {
        "require_two_factor": True
    }


def test_an_agent_cannot_change_the_requirement(agent, workspace):
    sam = sign_in("sam")
    assert (
        sam.post(reverse("accounts:sign_in_policy"), {"require_two_factor": "on"}).status_code
        == 403
    )
    with pytest.raises(PermissionDenied):
        do_set_sign_in_policy(agent, workspace, require_two_factor=True)


def test_an_admin_resets_a_lost_authenticator_and_an_agent_cannot(lea_with_2fa, owner, agent):
    sam = sign_in("sam")
    assert sam.post(reverse("accounts:reset_two_factor", args=[owner.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        do_reset_two_factor(agent, owner)
    assert TOTPDevice.objects.filter(user=owner.user, confirmed=True).exists()

    do_reset_two_factor(owner, owner)
    assert sign_in("lea").get(INBOX).status_code == 200
    assert Activity.objects.get(verb=Verb.TWO_FACTOR_RESET).data["member_id"] == owner.pk


def test_the_password_alone_cannot_add_a_second_authenticator(lea_with_2fa, owner):
    """The setup page waits for the second factor too: no new secret, nothing confirmed."""
    client = sign_in("lea")
    page = client.get(reverse("accounts:two_factor"))
    attempt = client.post(reverse("accounts:two_factor"), {"action": "confirm", "code": "000000"})
    assert page.status_code == 302 and page["Location"].startswith(reverse("accounts:verify"))
    assert attempt.status_code == 302
    assert TOTPDevice.objects.filter(user=owner.user).count() == 1


def test_the_operators_admin_never_shows_an_authenticator_key(lea_with_2fa):
    from django.contrib.auth.models import User

    device, _ = lea_with_2fa
    operator = User.objects.create_superuser("op", "op@example.com", "operator-pass-123")
    client = Client()
    client.force_login(operator)
    page = client.get(
        reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    ).content.decode()
    assert device.key not in page
