"""The Content-Security-Policy of every page, set in one place (a middleware).

Scripts, styles, images and connections only from us: platform text cannot run
code even if an escape were missed. No inline scripts or styles anywhere. No
form-action: adding a channel posts a form that redirects to the platform's
OAuth page. A view that needs another policy (the website widget served to
other sites) sets its own header and this middleware leaves it alone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy header to every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
