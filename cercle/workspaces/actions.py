"""Writes of the workspaces app."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from .choices import Role
from .models import Member, Workspace


def do_create_workspace(
    name: str, *, slug: str = "", timezone: str = "Europe/Paris", language: str = "fr"
) -> Workspace:
    """A new, empty workspace with a unique slug."""
    base = slugify(slug or name)[:50] or "workspace"
    candidate, n = base, 1
    while Workspace.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return Workspace.objects.create(name=name, slug=candidate, timezone=timezone, language=language)


def do_create_user(
    username: str, password: str, *, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """A login (argon2-hashed password)."""
    user: User = get_user_model().objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    return user


def do_add_member(
    workspace: Workspace, user: User, role: str = Role.AGENT, display_name: str = ""
) -> Member:
    """Give `user` a role in `workspace` (updates the role if already a member)."""
    with transaction.atomic():
        member, created = Member.objects.get_or_create(
            workspace=workspace, user=user, defaults={"role": role, "display_name": display_name}
        )
        if not created and member.role != role:
            member.role = role
            member.save(update_fields=["role"])
    return member
