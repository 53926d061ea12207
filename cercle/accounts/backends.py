"""The authentication backend that refuses a login locked out by too many failures.

It is django-axes' backend (it checks the lockout, the next backend
checks the password), with one difference: a call without a request (the test
client's `login`, a management command) is not a login attempt over the
network and is left to the next backend instead of failing.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesBackend
from django.http import HttpRequest


class ThrottledBackend(AxesBackend):  # type: ignore[misc]  # axes ships no types
    """Refuses (PermissionDenied) a username+address that failed too often; never logs in.

    It loads the user of a session like Django's ModelBackend (`get_user`), so a session
    opened with it (the first backend) stays valid.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None
