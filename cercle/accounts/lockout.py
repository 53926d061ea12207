"""Login throttling (django-axes): the lockout page, and which logins are locked now.

Failures are counted per username *and* client address: after
`AXES_FAILURE_LIMIT` failures within `AXES_COOLOFF_TIME`, that username is
refused from that address (even with the right password) until the cool-off
ends or an admin of one of its workspaces unlocks it. Counting per pair means a
stranger cannot lock a member out from elsewhere by failing on purpose.

The address is the connection's (`REMOTE_ADDR`); behind a reverse proxy,
`cercle serve` (uvicorn) takes it from `X-Forwarded-For` only when the proxy
connects from an address listed in `FORWARDED_ALLOW_IPS` (loopback by default).
Axes stamps attempts with Django's clock, not `cercle.core.clock`, so the
queries here do too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKOUT_STATUS = 429


def failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def cool_off() -> timedelta:
    value = settings.AXES_COOLOFF_TIME
    return value if isinstance(value, timedelta) else timedelta(hours=float(value))


def lockout_minutes() -> int:
    return max(1, round(cool_off().total_seconds() / 60))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """The login page again, with a message that says why and what to do (429)."""
    username = str(get_client_username(request, credentials) or "")[:150]
    form = AuthenticationForm(request, initial={"username": username})
    return render(
        request,
        "workspaces/login.html",
        {
            "form": form,
            "locked_out": True,
            "lockout_minutes": lockout_minutes(),
            "next": request.POST.get("next", "") if request.method == "POST" else "",
        },
        status=LOCKOUT_STATUS,
    )


@dataclass(frozen=True)
class LockedLogin:
    """A username refused from one address until `until`."""

    username: str
    ip_address: str
    failures: int
    last_failure: datetime
    until: datetime


def locked_logins(usernames: Iterable[str], *, now: datetime | None = None) -> list[LockedLogin]:
    """The lockouts in force now for these usernames, the latest first."""
    names = [u for u in usernames if u]
    if not names:
        return []
    now = now or timezone.now()
    window = cool_off()
    rows = (
        AccessAttempt.objects.filter(username__in=names, attempt_time__gte=now - window)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=failure_limit())
        .order_by("-last")
    )
    return [
        LockedLogin(
            username=row["username"],
            ip_address=row["ip_address"] or "",
            failures=row["failures"],
            last_failure=row["last"],
            until=row["last"] + window,
        )
        for row in rows
    ]
