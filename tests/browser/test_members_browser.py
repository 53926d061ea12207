"""The members pages in a real browser: invite with the shown link, join, and hostile names inert."""

from __future__ import annotations

import os

from cercle.workspaces.actions import do_change_profile, do_create_team
from cercle.workspaces.models import Member

from .conftest import login

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_an_invitation_link_shown_to_the_owner_lets_a_newcomer_join(
    page, browser, live_server, owner, settings
):
    settings.EMAIL_HOST = ""
    login(page, "lea")
    page.goto("/settings/members/")
    page.fill("#id_email", "nina@example.com")
    page.select_option("#id_role", "manager")
    page.click("#invite-title ~ form button[type=submit]")
    link = page.input_value(".invite-link input")
    newcomer = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    newcomer.goto(link)
    newcomer.fill("#id_username", "nina")
    newcomer.fill("#id_display_name", "Nina")
    newcomer.fill("#id_password", "a long enough secret")
    newcomer.click(".accept-form button[type=submit]")
    newcomer.wait_for_selector("#list")
    if shots := os.environ.get("CERCLE_SCREENSHOTS"):
        page.set_viewport_size({"width": 1440, "height": 900})
        for name in ("members", "teams", "workspace", "audit"):
            page.goto(f"/settings/{name}/")
            page.screenshot(path=f"{shots}/{name}.png", full_page=True)
        page.goto("/profile/")
        page.screenshot(path=f"{shots}/profile.png", full_page=True)
    newcomer.context.close()
    assert Member.objects.get(user__username="nina").role == "manager"


def test_hostile_member_and_team_names_stay_inert(page, owner, agent, workspace):
    do_change_profile(
        agent,
        display_name=HOSTILE,
        languages=["fr"],
        skills=[HOSTILE],
        availability="away",
        notifications={},
    )
    do_create_team(owner, workspace, HOSTILE, [agent.pk])
    login(page, "lea")
    injected = []
    for path in ("/settings/members/", "/settings/teams/", "/settings/audit/"):
        page.goto(path)
        page.wait_for_timeout(200)
        injected.append(page.locator("img[src=x]").count())
    assert (page.dialogs, injected) == ([], [0, 0, 0])
