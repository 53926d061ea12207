"""Template tags of collision detection: one line per change that stopped a reply."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from cercle.inbox.choices import Status
from cercle.inbox.collision import Change
from cercle.workspaces.choices import Verb

from .inbox_tags import format_html_dict

register = template.Library()


def _status(value: object) -> str:
    try:
        return str(Status(str(value)).label)
    except ValueError:
        return str(value)


@register.simple_tag
def change_line(change: Change) -> SafeString:
    """ "Léa replied", "Routing assigned it to Sam", "Sam changed the status: Open → Closed"."""
    who = change.who or _("Someone")
    if change.verb == Verb.REPLIED:
        text = (
            _("%(who)s sent a private reply")
            if change.data.get("private")
            else _("%(who)s replied")
        )
        return format_html_dict(text, who=who)
    if change.verb == Verb.ASSIGNED:
        return format_html_dict(
            _("%(who)s assigned it to %(name)s"), who=who, name=change.data.get("assignee", "")
        )
    if change.verb == Verb.UNASSIGNED:
        return format_html_dict(_("%(who)s unassigned it"), who=who)
    if change.verb == Verb.STATUS_CHANGED:
        return format_html_dict(
            _("%(who)s changed the status: %(old)s → %(new)s"),
            who=who,
            old=_status(change.data.get("old", "")),
            new=_status(change.data.get("new", "")),
        )
    label = str(Verb(change.verb).label) if change.verb in Verb.values else change.verb
    return format_html_dict("%(who)s %(label)s", who=who, label=label)
