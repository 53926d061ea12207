"""The API tokens settings page, and the operators' endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cercle.core import clock
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from . import health
from .actions import ActionRefused, do_create_api_token, do_revoke_api_token, may_revoke
from .forms import TokenForm
from .queries import token_in, tokens_for_page

# The secret of a token just created, shown on the next page only.
SHOWN_SECRET_KEY = "api_token_secret"


@never_cache
@member_required(Permission.VIEW)
def tokens_page(request: HttpRequest) -> HttpResponse:
    """List the member's tokens (every member's, for those who manage members); create one."""
    member = current_member(request)
    form = TokenForm(member.role)
    if request.method == "POST":
        form = TokenForm(member.role, request.POST)
        if form.is_valid():
            days = int(form.cleaned_data["expires_in"])
            try:
                created = do_create_api_token(
                    member,
                    form.cleaned_data["name"],
                    form.cleaned_data["role"],
                    expires_at=clock.now() + timedelta(days=days) if days else None,
                )
            except ActionRefused as exc:
                messages.error(request, str(exc))
            else:
                request.session[SHOWN_SECRET_KEY] = {
                    "id": created.token.pk,
                    "secret": created.secret,
                }
                return redirect("api_tokens")
    everyone = member.can(Permission.MANAGE_MEMBERS)
    tokens = tokens_for_page(member, everyone=everyone)
    now = clock.now()
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "rows": [
                {
                    "token": t,
                    "mine": t.member_id == member.pk,
                    "usable": t.is_usable,
                    "expired": t.expires_at is not None and t.expires_at <= now,
                    "revocable": t.revoked_at is None and may_revoke(member, t),
                }
                for t in tokens
            ],
            "everyone": everyone,
            "shown": request.session.pop(SHOWN_SECRET_KEY, None),
            "api_base": request.build_absolute_uri("/api/v1/"),
            "active_tab": "api_tokens",
        },
    )


@require_POST
@member_required(Permission.VIEW)
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    member = current_member(request)
    token = token_in(member, token_id)
    try:
        do_revoke_api_token(member, token)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api_tokens")


# --- operators ----------------------------------------------------------------------------


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive (touches nothing else)."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and every migration is applied (else 503)."""
    db_ok, db_detail = health.database_ok()
    mig_ok, mig_detail = health.migrations_ok() if db_ok else (False, "database unreachable")
    ready = db_ok and mig_ok
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {"database": db_detail, "migrations": mig_detail},
        },
        status=200 if ready else 503,
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    """With CERCLE_METRICS_TOKEN set, the scraper sends it as a bearer token; without it, only
    a direct request from this machine (loopback, no proxy header) may read the metrics."""
    expected = str(settings.CERCLE_METRICS_TOKEN)
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return secrets.compare_digest(given.encode(), expected.encode())
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (text exposition format 0.0.4)."""
    if not _metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(
        health.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
