"""Template helpers of the inbox: activity sentences, SLA state, list URLs, stars."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from cercle.connectors.choices import HEALTH_COLOURS
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.inbox.choices import Status
from cercle.inbox.models import Conversation
from cercle.workspaces.choices import AutomationKind, Verb
from cercle.workspaces.mentions import split_mentions
from cercle.workspaces.models import Activity

register = template.Library()

# Below this, an SLA is "at risk" (amber).
SLA_RISK = timedelta(minutes=15)


@register.filter
def needs_reply(conversation: Conversation) -> bool:
    """The community waits for the team: something arrived unanswered, and the team has it open.

    Pending (waiting for the customer), snoozed and closed conversations need nothing now.
    """
    return conversation.waiting_since is not None and conversation.status in (
        Status.NEW,
        Status.OPEN,
    )


@register.filter
def sla_state(conversation: Conversation, now: datetime | None = None) -> str:
    """ "breached", "risk" or "" for the SLA due time of a conversation that needs a reply."""
    due = conversation.sla_due_at
    if due is None or not needs_reply(conversation):
        return ""
    now = now or timezone.now()
    if due <= now:
        return "breached"
    if due - now < SLA_RISK:
        return "risk"
    return ""


def short_duration(delta: timedelta) -> str:
    """5 d, 3 h, 12 min: the one unit that matters in a dense list."""
    seconds = abs(int(delta.total_seconds()))
    if seconds >= 86400:
        return _("%(n)d d") % {"n": seconds // 86400}
    if seconds >= 3600:
        return _("%(n)d h") % {"n": seconds // 3600}
    return _("%(n)d min") % {"n": max(1, seconds // 60)}


@register.filter
def sla_label(conversation: Conversation, now: datetime | None = None) -> str:
    """ "late 2 h" or "due in 12 min" for the list row; "" when nothing is due."""
    due = conversation.sla_due_at
    if due is None or not needs_reply(conversation):
        return ""
    now = now or timezone.now()
    if due <= now:
        return _("late %(duration)s") % {"duration": short_duration(now - due)}
    return _("due in %(duration)s") % {"duration": short_duration(due - now)}


@register.filter
def arrived_at(conversation: Conversation) -> datetime | None:
    """When the conversation's latest item from the community arrived (or when it began)."""
    return conversation.last_inbound_at or conversation.created_at


@register.filter
def arrival_label(when: datetime | None, now: datetime | None = None) -> str:
    """Compact arrival time for a dense row: "14:05" today, "12 Nov" this year, "12 Nov 2025" before."""
    if when is None:
        return ""
    local = timezone.localtime(when)
    today = timezone.localtime(now or timezone.now()).date()
    if local.date() == today:
        return date_format(local, "H:i")
    if local.year == today.year:
        return date_format(local, "j M")
    return date_format(local, "j M Y")


@register.filter
def health_colour(health: str) -> str:
    return HEALTH_COLOURS.get(health, "grey")


@register.filter
def platform_label(platform: str) -> str:
    try:
        return str(connector_class(platform).label)
    except UnknownPlatform:
        return platform


# A short mark per platform for its icon (the label is the icon's title and accessible name).
PLATFORM_MARKS = {
    "facebook": "f",
    "instagram": "◎",
    "youtube": "▶",
    "x": "𝕏",
    "mastodon": "M",
    "reddit": "r",
    "google_business": "G",
    "simulator": "★",
    "discourse": "D",
    "website": "◍",
    "rss": "≋",
    "email": "@",
}


@register.simple_tag
def platform_icon(platform: str) -> SafeString:
    """The platform's icon: a coloured mark, named for screen readers and in its tooltip."""
    label = platform_label(platform)
    known = platform if platform in PLATFORM_MARKS else "other"
    return format_html(
        '<span class="pf pf-{}" role="img" aria-label="{}" title="{}">{}</span>',
        known,
        label,
        label,
        PLATFORM_MARKS.get(platform, label[:1].upper() or "?"),
    )


@register.filter
def initials(name: str) -> str:
    """Up to two initials of a (community) name, for its avatar."""
    letters = [part[0] for part in str(name).split() if part and part[0].isalnum()]
    return "".join(letters[:2]).upper() or "?"


@register.filter
def avatar_hue(key: object) -> int:
    """A stable colour (one of 12 hues) for a contact's avatar."""
    return sum(str(key).encode()) % 12


@register.filter
def stars(rating: int | None) -> str:
    """★★★☆☆ for a 1–5 rating."""
    if rating is None:
        return ""
    rating = max(0, min(5, int(rating)))
    return "★" * rating + "☆" * (5 - rating)


@register.simple_tag
def list_url(filters: Any, **overrides: Any) -> str:
    """The inbox URL for the current filters with some changed (page=2, view="mine"…)."""
    query = filters.querystring(**overrides) if filters is not None else ""
    return reverse("inbox:index") + (f"?{query}" if query else "")


@register.simple_tag
def view_url(view: str, channel: int | None = None) -> str:
    """A left-pane view: a fresh filter set (views are presets, not refinements)."""
    params = []
    if view != "open":
        params.append(f"view={view}")
    if channel:
        params.append(f"channel={int(channel)}")
    return reverse("inbox:index") + ("?" + "&".join(params) if params else "")


@register.filter
def view_label(view: str) -> str:
    """The left pane's name of a view ("All open", "Closed"…), in the team's language."""
    labels = {
        "open": _("All open"),
        "mine": _("Mine"),
        "unassigned": pgettext("view", "Unassigned"),
        "pending": _("Pending"),
        "snoozed": pgettext("view", "Snoozed"),
        "closed": pgettext("view", "Closed"),
        "all": _("All conversations"),
    }
    return str(labels.get(view, view))


@register.simple_tag
def conversation_url(conversation_id: int, filters: Any = None) -> str:
    query = filters.querystring() if filters is not None else ""
    return reverse("inbox:conversation", args=[conversation_id]) + (f"?{query}" if query else "")


def _status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def _action_label(action: str) -> str:
    """The team's words for an outbound action code (hide, ban…); unknown codes as they are."""
    labels = {
        "reply": _("reply"),
        "private_reply": _("private reply"),
        "send_private": _("private message"),
        "hide": _("hide"),
        "unhide": _("unhide"),
        "delete": _("delete"),
        "ban": _("ban the author"),
        "like": _("like"),
    }
    return str(labels.get(action, action))


def _merge_line(verb: str, actor: str, data: dict[str, Any]) -> SafeString | None:
    """A merge, seen from the conversation the line is on; None for any other row."""
    if verb not in (Verb.MERGED, Verb.CONTACTS_MERGED):
        return None
    actor = actor or _("Someone")
    if verb == Verb.CONTACTS_MERGED:
        return format_html_dict(
            _("%(actor)s merged the contact “%(source)s” into “%(into)s”"),
            actor=actor,
            source=data.get("source_name", ""),
            into=data.get("into_name", ""),
        )
    # Messages of another conversation moved here, or this one's moved elsewhere.
    text = (
        _("%(actor)s merged another conversation into this one")
        if data.get("source")
        else _("%(actor)s merged this conversation into another one")
    )
    return format_html_dict(text, actor=actor)


def _routing_line(activity: Activity, data: dict[str, Any]) -> SafeString | None:
    """What automatic assignment did (workflow/assign.py), or None for any other row."""
    if activity.actor_id is not None or activity.automation != AutomationKind.ROUTING:
        return None
    verb = activity.verb
    if verb == Verb.ASSIGNED and "assignee_id" in data:
        return format_html_dict(
            _("Assigned to %(name)s automatically"), name=data.get("assignee", "")
        )
    if verb == Verb.UNASSIGNED and data.get("reason") == "off":
        return format_html_dict(_("Unassigned: %(name)s is off"), name=data.get("member", ""))
    return None


def _special_line(activity: Activity, actor: str, data: dict[str, Any]) -> SafeString | None:
    """The lines told their own way: automatic assignment, merges."""
    return _routing_line(activity, data) or _merge_line(activity.verb, actor, data)


def _platform_line(verb: str, actor: str, data: dict[str, Any]) -> SafeString | None:
    """The lines of moderation, delivery, rules and approvals (None for other verbs)."""
    if verb == Verb.MODERATION_REQUESTED:
        return format_html_dict(
            _("%(actor)s asked the platform: %(action)s"),
            actor=actor or _("Someone"),
            action=_action_label(data.get("action", "")),
        )
    if verb == Verb.MODERATED:
        return format_html_dict(
            _("Done on the platform: %(action)s"), action=_action_label(data.get("action", ""))
        )
    if verb == Verb.DELIVERY_FAILED:
        return format_html_dict(_("Delivery failed: %(error)s"), error=data.get("error", ""))
    if verb == Verb.RULE_FIRED:
        from cercle.moderation.rules import describe_skipped

        rule = data.get("rule_name", data.get("rule", ""))
        skipped = describe_skipped(data.get("skipped"))
        if skipped:
            return format_html_dict(
                _("Rule “%(rule)s” fired; not done: %(skipped)s"), rule=rule, skipped=skipped
            )
        return format_html_dict(_("Rule “%(rule)s” fired"), rule=rule)
    if verb == Verb.UNDONE:
        return format_html_dict(
            _("%(actor)s undid what “%(by)s” did"),
            actor=actor or _("Someone"),
            by=data.get("by", ""),
        )
    if verb == Verb.REPLY_REJECTED and data.get("comment"):
        return format_html_dict(
            _("%(actor)s rejected the reply of %(author)s: “%(comment)s”"),
            actor=actor or _("Someone"),
            author=data.get("author", ""),
            comment=data.get("comment", ""),
        )
    return None


@register.simple_tag
def activity_line(activity: Activity) -> SafeString:
    """One grey timeline line, every name and platform string escaped."""
    # A member by name; an automation (a rule, a policy) by its own name.
    actor = activity.actor.name if activity.actor else activity.automation_name
    data = activity.data if isinstance(activity.data, dict) else {}
    verb = activity.verb
    special = _special_line(activity, actor, data)
    if special is not None:
        return special
    if verb == Verb.ASSIGNED:
        text = _("%(actor)s assigned to %(name)s") if actor else _("Assigned to %(name)s")
        return format_html_dict(text, actor=actor, name=data.get("assignee", ""))
    if verb == Verb.UNASSIGNED:
        return format_html_dict(
            _("%(actor)s unassigned") if actor else pgettext("conversation", "Unassigned"),
            actor=actor,
        )
    if verb == Verb.STATUS_CHANGED:
        text = (
            _("%(actor)s changed the status: %(old)s → %(new)s")
            if actor
            else _("Status: %(old)s → %(new)s")
        )
        return format_html_dict(
            text,
            actor=actor,
            old=_status_label(data.get("old", "")),
            new=_status_label(data.get("new", "")),
        )
    if verb == Verb.TAGGED:
        return format_html_dict(
            _("%(actor)s tagged “%(tag)s”") if actor else _("Tagged “%(tag)s”"),
            actor=actor,
            tag=data.get("tag", ""),
        )
    if verb == Verb.UNTAGGED:
        return format_html_dict(
            _("%(actor)s removed the tag “%(tag)s”") if actor else _("Tag “%(tag)s” removed"),
            actor=actor,
            tag=data.get("tag", ""),
        )
    other = _platform_line(verb, actor, data)
    if other is not None:
        return other
    label = str(Verb(verb).label) if verb in Verb.values else verb
    if actor:
        return format_html("{} {}", actor, label)
    return format_html("{}", label[:1].upper() + label[1:])


def format_html_dict(text: str, **values: Any) -> SafeString:
    """format_html for %(name)s-style translated strings: the text is trusted, the values escaped."""
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe

    escaped = {k: conditional_escape(str(v)) for k, v in values.items()}
    return mark_safe(conditional_escape(text) % escaped)  # noqa: S308 (every value escaped above)


@register.filter
def safe_url(url: str | None) -> str:
    """The URL if it is http(s), else "": a platform could send `javascript:` links."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


@register.filter
def has(values: Any, item: str) -> bool:
    """`caps|has:"hide"` in templates."""
    return item in values


@register.simple_tag
def note_text(text: str, mentions: Any) -> SafeString:
    """A note's text with its resolved @mentions highlighted; every piece escaped."""
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe

    parts = [
        format_html('<mark class="mention">{}</mark>', piece)
        if is_mention
        else conditional_escape(piece)
        for piece, is_mention in split_mentions(text or "", mentions or ())
    ]
    return mark_safe("".join(parts))  # noqa: S308 (every piece escaped above)
