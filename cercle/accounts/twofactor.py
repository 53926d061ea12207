"""Two-factor authentication (django-otp): an authenticator app (TOTP) and recovery codes.

A login with a confirmed device is not complete until a code is given on the
verify page (`TwoFactorMiddleware` sends every other page there). A workspace
whose owner requires two-factor authentication sends its members who have none
to the setup page first. django-otp throttles wrong codes on each device.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from django.db import transaction
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cercle.workspaces.models import Member

from .models import SignInPolicy

RECOVERY_CODES = 10
AUTHENTICATOR = "Authenticator"
RECOVERY = "Recovery codes"


def has_two_factor(user: Any) -> bool:
    return bool(user_has_device(user, confirmed=True))


def required_for(user: Any) -> bool:
    """Whether a workspace the user is an active member of requires two-factor authentication."""
    return SignInPolicy.objects.filter(
        require_two_factor=True,
        workspace__members__user=user,
        workspace__members__is_active=True,
    ).exists()


def pending_authenticator(user: Any) -> TOTPDevice:
    """The unconfirmed authenticator being set up (a new secret if there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def qr_code_data_uri(url: str) -> str:
    """The otpauth:// URL as an SVG QR code, for an <img> (the CSP allows data: images)."""
    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes by new ones (each works once); returns them."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def verified_device(user: Any, code: str) -> TOTPDevice | StaticDevice | None:
    """The confirmed device that accepts `code` (an authenticator code or a recovery code)."""
    code = "".join(code.split())[:32]
    if not code:
        return None
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            for device in model.objects.filter(user=user, confirmed=True).select_for_update():
                if device.verify_is_allowed()[0] and device.verify_token(code):
                    return device
    return None


def remove_two_factor(user: Any) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def members_with_two_factor(members: list[Member]) -> set[int]:
    """The ids of these members whose login has a confirmed authenticator."""
    users = TOTPDevice.objects.filter(
        user_id__in=[m.user_id for m in members], confirmed=True
    ).values_list("user_id", flat=True)
    with_device = set(users)
    return {m.pk for m in members if m.user_id in with_device}
