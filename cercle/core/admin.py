"""The Django admin for operators: a read-only window on the rows that help support.

Every write goes through an action (DESIGN.md §3), so the admin changes nothing:
operators read channels, raw events, the outbox, members and the Activity log
here, and act through the pages and the `cercle` command.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in the stubs
    """A model admin that lists and shows rows, and refuses to add, change or delete them."""

    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over big tables is slow on PostgreSQL

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
