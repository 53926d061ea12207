"""The public JSON API, `/api/v1/`: django-ninja, personal tokens, one rate limit per token.

Reads go through the same `queries` as the pages, writes through the same
actions, with the token's member (capped at the token's role) as the actor; so
the permission checks are the UI's, and another workspace's object is a 404.
Every error is JSON: `{"detail": "…"}` (a list of field errors for a malformed request).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from cercle.inbox.actions import ActionRefused

from .auth import RateLimited, TokenAuth
from .endpoints import router
from .paging import BadCursor
from .resources import router as resources_router

DESCRIPTION = """\
Cercle's public API: the team inbox (conversations with the inbox's filters and search,
messages, replies, notes, assignment, status, tags), contacts, channels, moderation rules,
members, saved replies, personas, goals and the insights figures.

Authenticate with a personal API token (Settings → API tokens):
`Authorization: Bearer cercle_…`. A token acts as its member, capped at the token's role;
it sees one workspace. Lists are paged with an opaque `cursor` (`next_cursor` of the
previous page). Each token has a rate limit per window (headers `X-RateLimit-Limit`,
`X-RateLimit-Remaining`, `X-RateLimit-Reset`; `429` with `Retry-After` beyond it).
"""


class CercleApi(NinjaAPI):
    """Adds the rate-limit headers of the request's token to every response."""

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        state = getattr(request, "api_rate", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response


api = CercleApi(
    title="Cercle API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


def _error(request: HttpRequest, detail: str, status: int) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(
        request,
        "Authentication required: send the header 'Authorization: Bearer <token>' with a "
        "valid API token (unknown, revoked and expired tokens are refused).",
        401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="cercle"'
    return response


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(request, str(exc), 429)
    for name, value in exc.state.headers().items():
        response[name] = value
    response["Retry-After"] = str(max(1, exc.state.reset_seconds))
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, "This token's role does not allow this action.", 403)


@api.exception_handler(ActionRefused)
def _refused(request: HttpRequest, exc: ActionRefused) -> HttpResponse:
    return _error(request, str(exc) or "The action was refused.", 422)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """What an action refused to write (an empty title, a taken shortcut…): its reasons."""
    return _error(request, " ".join(exc.messages) or "The request was refused.", 422)


@api.exception_handler(BadCursor)
def _bad_cursor(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return _error(request, "Invalid cursor: pass the next_cursor of the same list, unchanged.", 400)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, "Not found in this token's workspace.", 404)


api.add_router("/", router)
api.add_router("/", resources_router)
