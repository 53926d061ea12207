"""The operators' admin shows the support rows and changes none of them."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from cercle.pipeline.actions import do_store_raw_events
from tests.conftest import sim_body, sim_event


@pytest.fixture
def operator(client, db):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct horse battery")
    assert client.login(username="ops", password="correct horse battery")
    return client


def test_an_operator_reads_raw_events(operator, sim_channel):
    do_store_raw_events(sim_channel, [sim_body(sim_event("c1"))])
    response = operator.get(reverse("admin:pipeline_rawevent_changelist"))
    assert response.status_code == 200 and "webhook" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["pipeline_rawevent", "connectors_channel", "inbox_outbox", "workspaces_activity"]
)
def test_the_admin_cannot_add_rows_that_actions_must_write(operator, name):
    assert operator.get(reverse(f"admin:{name}_add")).status_code == 403


def test_the_admin_never_shows_channel_secrets(operator, sim_channel):
    response = operator.get(reverse("admin:connectors_channel_change", args=[sim_channel.pk]))
    assert response.status_code == 200 and sim_channel.verify_token not in response.content.decode()


def test_members_cannot_open_the_admin(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
