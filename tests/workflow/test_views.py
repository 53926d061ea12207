"""The response-targets settings pages: read by all, changed by managers, scoped by workspace."""

import pytest
from django.urls import reverse

from cercle.workflow.models import BusinessHours, SlaPolicy
from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
from cercle.workspaces.choices import Role

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


@pytest.fixture
def agent_client(client, workspace):
    user = do_create_user("sam", "correct horse battery")
    do_add_member(workspace, user, Role.AGENT)
    assert client.login(username="sam", password="correct horse battery")
    return client


def test_a_manager_adds_business_hours_with_a_holiday(lea, workspace):
    response = lea.post(
        reverse("workflow:hours_new"),
        {
            "name": "Bureau",
            "time_zone": "Europe/Paris",
            "day_0": "09:00-12:00, 14:00-18:00",
            "holidays": "2026-12-25 Noël",
        },
    )
    hours = BusinessHours.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert (hours.weekly, [h.name for h in hours.holidays.all()]) == (
        {"0": [["09:00", "12:00"], ["14:00", "18:00"]]},
        ["Noël"],
    )


@pytest.mark.parametrize(
    "field, value",
    [("time_zone", "Mars/Olympus"), ("day_1", "18:00-09:00"), ("holidays", "Christmas")],
)
def test_bad_business_hours_are_refused_with_a_message(lea, workspace, field, value):
    data = {"name": "Bureau", "time_zone": "Europe/Paris", field: value}
    response = lea.post(reverse("workflow:hours_new"), data)
    assert response.status_code == 200 and not BusinessHours.objects.exists()


def test_a_manager_adds_a_policy(lea, workspace):
    response = lea.post(
        reverse("workflow:policy_new"),
        {
            "name": "Plaintes",
            "position": 0,
            "is_active": "on",
            "first_response_minutes": 30,
            "at_risk_minutes": 10,
        },
    )
    assert response.status_code == 302
    assert SlaPolicy.objects.get(workspace=workspace).first_response_minutes == 30


def test_an_agent_reads_the_targets_but_cannot_change_them(agent_client):
    page = agent_client.get(reverse("workflow:settings"))
    refused = agent_client.get(reverse("workflow:policy_new"))
    assert (page.status_code, refused.status_code) == (200, 403)


def test_another_workspaces_policy_is_a_404(lea, db):
    other = do_create_workspace("Other")
    policy = SlaPolicy.objects.create(workspace=other, name="Theirs", first_response_minutes=5)
    assert lea.get(reverse("workflow:policy_edit", args=[policy.pk])).status_code == 404


def test_policy_names_are_shown_inert(lea, workspace):
    SlaPolicy.objects.create(workspace=workspace, name=HOSTILE, first_response_minutes=5)
    content = lea.get(reverse("workflow:settings")).content.decode()
    assert HOSTILE not in content and "&lt;img src=x" in content
