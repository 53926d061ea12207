"""Template helpers of the insights pages: durations, shares, heatmap intensity."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from cercle.insights import http

register = template.Library()


@register.filter
def seconds_as_duration(seconds: float | None) -> str:
    """12 min, 1 h 05, 2 d 3 h; an em dash when there is nothing to measure."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


@register.filter
def share(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


@register.filter
def heat_level(count: int, maximum: int) -> int:
    """0 (nothing) to 5 (the busiest hour), for the heatmap's colour classes."""
    if not count or not maximum:
        return 0
    return max(1, min(5, round(5 * count / maximum)))


@register.filter
def goal_figure(value: float | None, is_share: bool) -> str:
    """A goal's value or target in its unit: a percentage, or minutes."""
    if value is None:
        return "—"
    if is_share:
        return f"{value:.0f} %" if value == round(value) else f"{value:.1f} %"
    return _("%(minutes)s min") % {"minutes": f"{value:.0f}" if value >= 10 else f"{value:.1f}"}


@register.filter
def signed(value: float | None) -> str:
    """A trend with its sign (+3.5, −2); an em dash when there is none."""
    if value is None:
        return "—"
    text = f"{abs(value):.1f}".removesuffix(".0")
    return ("+" if value >= 0 else "−") + text


@register.filter
def period_title(key: str, unit: str) -> str:
    """A row of the period breakdown in the member's language (`http.period_title`)."""
    return http.period_title(str(key), str(unit))
