"""Passwords are stored hashed with argon2id; an older PBKDF2 hash is upgraded at the next login.

The suite swaps in a fast hasher for every other test (tests/conftest.py); these tests put the
configured hashers of cercle/settings.py back.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

import cercle.settings as configured
from cercle.workspaces.actions import do_create_user

PASSWORD = "correct horse battery"


@pytest.fixture
def real_hashers(settings):
    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS


def test_argon2_is_the_hasher_cercle_is_configured_with():
    assert configured.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_new_login_is_stored_as_an_argon2id_hash(real_hashers, db):
    user = do_create_user("lea", PASSWORD)
    stored = User.objects.get(pk=user.pk).password
    assert stored.startswith("argon2$argon2id$") and PASSWORD not in stored


def test_an_older_pbkdf2_hash_is_upgraded_to_argon2_at_login(real_hashers, db):
    user = User.objects.create(
        username="old", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    Client().post(reverse("workspaces:login"), {"username": "old", "password": PASSWORD})
    assert User.objects.get(pk=user.pk).password.startswith("argon2$argon2id$")
