"""The API in a real browser: a token created in the settings page works at once; the API's
reference page (Swagger UI from our own static files) renders under the strict CSP."""

from __future__ import annotations

import os

from cercle.api.models import ApiToken

from .conftest import login


def test_a_token_made_in_the_page_calls_the_api(page, owner):
    login(page, "lea")
    page.goto("/settings/api-tokens/")
    page.fill("#id_name", "Export script")
    page.select_option("#id_role", "agent")
    page.click("#new-token-title ~ form button[type=submit]")
    secret = page.input_value(".invite-link input")
    assert secret.startswith("cercle_")
    if shots := os.environ.get("CERCLE_SCREENSHOTS"):
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=f"{shots}/api-tokens.png", full_page=True)
    response = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status == 200 and response.json()["role"] == "agent"
    # Shown once: a reload no longer holds it.
    page.goto("/settings/api-tokens/")
    assert secret not in page.content()
    row = f"#token-{ApiToken.objects.get().pk}"
    page.click(f"{row} button[type=submit]")
    assert page.dialogs and "Revoke the token Export script?" in page.dialogs[-1]  # dismissed
    assert ApiToken.objects.get().revoked_at is None
    # Confirmed this time.
    page.eval_on_selector(f"{row} form", "form => form.removeAttribute('data-confirm')")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(".flash-success")
    response = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status == 401


def test_the_reference_page_renders_under_the_csp(page, db):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text and "script" in message.text
            else None
        ),
    )
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock-tag", state="visible")
    assert page.locator(".swagger-ui .opblock").count() >= 17
    if shots := os.environ.get("CERCLE_SCREENSHOTS"):
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=f"{shots}/api-docs.png")
    assert violations == []
