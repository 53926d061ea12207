"""The inbox list's rows, rendered in Python: the list pane's hot path.

A page shows 50 rows; drawn by the template engine each row cost about 140
translations, 250 variable lookups, a URL reversal and several date formats
(about 85 % of the page). Here everything that is the same for every row (the
translated words, the URL's shape, the date formats, "now") is computed once per
page, the per-channel and per-assignee pieces once per channel and assignee, and
each row is one `format_html` call. Every value is escaped; community text (the
contact's name, the preview) goes through the same `untrusted` marking as in
templates and the name is isolated in `<bdi>`. No query: the list's
`select_related` brings the channel, the contact and the assignee.

    {% load inbox_rows %}
    {% conversation_rows page.rows filters can_bulk %}
    {% conversation_row conversation filters can_assign oob=True %}
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from cercle.core.bidi import mark_controls, plain_controls
from cercle.inbox.choices import Kind, Priority, Status
from cercle.inbox.models import Conversation

from .inbox_tags import (
    arrived_at,
    avatar_hue,
    initials,
    platform_icon,
    sla_label,
    sla_state,
    stars,
)

register = template.Library()

_ROW = (
    '<li class="conv-row" id="row-{pk}" data-conversation="{pk}"{oob}>\n'
    "  {check}"
    '<a href="{url}" hx-get="{url}" hx-target="#conversation" hx-push-url="true"'
    ' class="status-{status}">\n'
    '    <span class="line1">{dot}'
    '<span class="platform" title="{channel_title}">{icon}</span>'
    '<span class="cavatar hue-{hue}" aria-hidden="true">{initials}</span>'
    '<span class="who"><bdi>{name}</bdi></span>'
    "{priority}"
    '<span class="badge badge-{kind}" title="{kind_title}">{kind_text}</span>'
    "</span>\n"
    '    <span class="meta">{arrived}'
    '<span class="lang{lang_class}" title="{lang_title}">{language}</span>'
    "{sla}{assignee}"
    '<span class="row-presence" id="row-presence-{pk}" data-presence-row="{pk}"></span>'
    "</span>\n"
    '    <span class="preview">{preview}</span>\n'
    "  </a>\n"
    "</li>\n"
)


def _esc(value: object) -> str:
    """What `conditional_escape` returns (safe text as it is, anything else through html.escape),
    without its lazy-string wrapper: called about 25 times per row."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


class RowRenderer:
    """Draws list rows for one page: the shared pieces are computed once, in the active language."""

    def __init__(self, filters: Any, selectable: bool, now: datetime | None = None) -> None:
        query = filters.querystring() if filters is not None else ""
        self.query = f"?{query}" if query else ""
        head, _sep, tail = reverse("inbox:conversation", args=[0]).rpartition("/0/")
        self.url_head, self.url_tail = f"{head}/", f"/{tail}"
        self.selectable = selectable
        self.now = now or timezone.now()
        local_now = timezone.localtime(self.now)
        self.today = local_now.date()
        self.datetime_format = get_format("DATETIME_FORMAT")
        self.words = {
            "select": _("Select"),
            "select_title": _("Select (x)"),
            "new_title": _("New: nobody has opened it yet"),
            "new": _("New"),
            "kind_title": _("Kind of the latest item"),
            "language": _("Language"),
            "unknown": _("unknown"),
            "loading": _("loading…"),
            "arrived": _("Arrived %(when)s"),
            "due": _("Needs a reply, due %(when)s"),
        }
        # The short arrival labels (`H:i`, `j M`, `j M Y`) without a DateFormat per row.
        self.months = [""] + [str(MONTHS_3[month]).title() for month in range(1, 13)]
        self.new_dot = format_html(
            '<span class="dot dot-blue" role="img" title="{}" aria-label="{}"></span>',
            self.words["new_title"],
            self.words["new"],
        )
        self.priorities = {value: str(label) for value, label in Priority.choices}
        self.kinds = {value: str(label) for value, label in Kind.choices}
        self._channels: dict[int, tuple[str, SafeString]] = {}
        self._assignees: dict[int, SafeString] = {}
        self._priority_marks: dict[int, SafeString] = {}

    def url(self, pk: int) -> str:
        return f"{self.url_head}{pk}{self.url_tail}{self.query}"

    def _channel(self, conv: Conversation) -> tuple[str, SafeString]:
        """The channel's tooltip and platform icon (once per channel)."""
        found = self._channels.get(conv.channel_id)
        if found is None:
            channel = conv.channel
            found = (
                _("Channel: %(channel)s") % {"channel": channel.name},
                platform_icon(channel.platform),
            )
            self._channels[conv.channel_id] = found
        return found

    def _assignee(self, conv: Conversation) -> SafeString:
        assignee = conv.assignee if conv.assignee_id is not None else None
        if assignee is None:
            return SafeString("")
        found = self._assignees.get(assignee.pk)
        if found is None:
            found = format_html(
                '<span class="avatar" title="{}">{}</span>',
                _("Assigned to %(name)s") % {"name": assignee.name},
                assignee.initials,
            )
            self._assignees[assignee.pk] = found
        return found

    def _priority(self, level: int) -> SafeString:
        if level < Priority.HIGH:
            return SafeString("")
        found = self._priority_marks.get(level)
        if found is None:
            label = self.priorities.get(level, str(level))
            found = format_html(
                '<span class="prio prio-{}" role="img" aria-label="{}" title="{}">{}</span>',
                level,
                label,
                _("Priority: %(level)s") % {"level": label},
                "!!" if level >= Priority.URGENT else "!",
            )
            self._priority_marks[level] = found
        return found

    def _arrived(self, conv: Conversation) -> SafeString:
        when = arrived_at(conv)
        if when is None:
            return SafeString("")
        local = timezone.localtime(when)
        if local.date() == self.today:
            label = f"{local.hour:02d}:{local.minute:02d}"
        elif local.year == self.today.year:
            label = f"{local.day} {self.months[local.month]}"
        else:
            label = f"{local.day} {self.months[local.month]} {local.year}"
        title = self.words["arrived"] % {"when": format_date(local, self.datetime_format)}
        return SafeString(
            f'<time class="arrived" datetime="{_esc(local.isoformat())}" title="{_esc(title)}">'
            f"{_esc(label)}</time>"
        )

    def _sla(self, conv: Conversation) -> SafeString:
        label = sla_label(conv, self.now)
        if not label or conv.sla_due_at is None:
            return SafeString("")
        state = sla_state(conv, self.now)
        due = format_date(timezone.localtime(conv.sla_due_at), self.datetime_format)
        return format_html(
            '<span class="sla{}" title="{}">{}</span>',
            f" sla-{state}" if state else "",
            self.words["due"] % {"when": due},
            label,
        )

    def _kind(self, conv: Conversation) -> tuple[str, str]:
        """The badge's tooltip and text: the stars of a review, else the kind's name."""
        if conv.last_kind == Kind.REVIEW:
            rated = _("Review rated %(n)s out of 5") % {"n": conv.rating or "?"}
            return rated, stars(conv.rating)
        return self.words["kind_title"], self.kinds.get(conv.last_kind, conv.last_kind)

    def row(self, conv: Conversation, oob: bool = False) -> SafeString:
        """One row, exactly as `_list.html` lists it (or as an out-of-band swap of it)."""
        words = self.words
        name = conv.contact.display_name
        channel_title, icon = self._channel(conv)
        kind_title, kind_text = self._kind(conv)
        check = SafeString(
            '<input type="checkbox" class="bulk-check" name="ids" value="{}" form="bulk-form"'
            ' aria-label="{} {}" title="{}">'.format(
                conv.pk,
                _esc(words["select"]),
                _esc(plain_controls(name)),
                _esc(words["select_title"]),
            )
            if self.selectable
            else ""
        )
        dot = self.new_dot if conv.status == Status.NEW else ""
        if getattr(conv, "is_loading", False) and not conv.preview:
            preview: SafeString | str = words["loading"]
        else:
            preview = mark_controls(conv.preview or "…")
        values = dict(
            pk=conv.pk,
            oob=SafeString(' hx-swap-oob="outerHTML"') if oob else "",
            check=check,
            url=self.url(conv.pk),
            status=conv.status,
            dot=dot,
            channel_title=channel_title,
            icon=icon,
            hue=avatar_hue(conv.contact_id),
            initials=initials(name),
            name=mark_controls(name),
            priority=self._priority(conv.priority),
            kind=conv.last_kind,
            kind_title=kind_title,
            kind_text=kind_text,
            arrived=self._arrived(conv),
            lang_class="" if conv.language else " lang-unknown",
            lang_title=words["language"],
            language=conv.language or words["unknown"],
            sla=self._sla(conv),
            assignee=self._assignee(conv),
            preview=preview,
        )
        # Every value escaped (safe pieces kept as they are), as format_html would.
        return mark_safe(_ROW.format(**{k: _esc(v) for k, v in values.items()}))  # noqa: S308

    def rows(self, conversations: Iterable[Conversation]) -> SafeString:
        return mark_safe("".join(self.row(c) for c in conversations))  # noqa: S308 (rows are escaped)


@register.simple_tag
def conversation_rows(
    conversations: Iterable[Conversation], filters: Any, selectable: Any
) -> SafeString:
    """The list's rows (see RowRenderer); `selectable` shows the bulk checkboxes."""
    return RowRenderer(filters, bool(selectable)).rows(conversations)


@register.simple_tag
def conversation_row(
    conversation: Conversation, filters: Any, selectable: Any, oob: bool = False
) -> SafeString:
    """One row alone: an action re-draws it out of band in the list."""
    return RowRenderer(filters, bool(selectable)).row(conversation, oob=oob)
