"""A plain GET does not write the session: the current workspace is saved only when it changes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cercle.workspaces.actions import do_add_member, do_create_workspace
from cercle.workspaces.choices import Role
from cercle.workspaces.middleware import SESSION_KEY


def _session_writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_first_get_saves_the_workspace_then_later_gets_write_nothing(client: Client, owner):
    assert client.login(username="lea", password="correct horse battery")
    first = client.get(reverse("inbox:index"))
    assert first.status_code == 200
    assert client.session[SESSION_KEY] == owner.workspace_id

    with CaptureQueriesContext(connection) as queries:
        second = client.get(reverse("inbox:index"))
    assert second.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in second.cookies
    assert _session_writes(queries) == []


def test_a_stale_workspace_choice_is_replaced_and_saved(client: Client, owner):
    elsewhere = do_create_workspace("Atelier Nord")
    assert client.login(username="lea", password="correct horse battery")
    client.get(reverse("inbox:index"))
    session = client.session
    session[SESSION_KEY] = elsewhere.id  # not a workspace of hers
    session.save()
    response = client.get(reverse("inbox:index"))
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert client.session[SESSION_KEY] == owner.workspace_id


def test_a_chosen_workspace_is_kept_without_a_write(client: Client, owner):
    other = do_create_workspace("Atelier Nord")
    do_add_member(other, owner.user, Role.OWNER)
    assert client.login(username="lea", password="correct horse battery")
    client.get(reverse("inbox:index"))
    session = client.session
    session[SESSION_KEY] = other.id
    session.save()
    response = client.get(reverse("inbox:index"))
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.session[SESSION_KEY] == other.id
