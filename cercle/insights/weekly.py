"""The weekly report: last week's key figures, the goals' status and the rising terms, by e-mail
(HTML with the chart as an image, the PDF attached) and as a PDF download.

A member opts in on their profile (the "Weekly report" notification, by e-mail).
The report of a workspace's last whole week (Monday to Sunday, its time zone) is
mailed from Monday `SEND_HOUR` on, once per member and week (`WeeklyReportSent`),
through the notifications app's mail settings (`notifications.actions.mail_possible`,
the site's base URL). The figures are the dashboard's (`report.build_report`,
which reads the rollups), in the workspace's language.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.mime.image import MIMEImage
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF
from PIL import Image, ImageDraw

from cercle.core import clock
from cercle.notifications.actions import mail_possible
from cercle.notifications.webhooks import base_url
from cercle.workspaces.choices import NotificationEvent, NotificationMedium
from cercle.workspaces.models import Member, Workspace

from .goals import GoalStatus, goal_status
from .models import Goal, WeeklyReportSent
from .queries import Period
from .report import Report, build_report
from .templatetags.insights_tags import goal_figure, seconds_as_duration, share
from .trends import Trend, trending_terms

logger = logging.getLogger(__name__)

SEND_HOUR = 8
TERMS = 10


@dataclass(frozen=True)
class WeeklyReport:
    workspace: Workspace
    week_start: date
    period: Period
    report: Report
    goals: list[GoalStatus]
    terms: list[Trend]


def last_week(now: datetime, tz: ZoneInfo) -> tuple[date, Period]:
    """The Monday of the last whole week before `now`, and the week as a period."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=tz)
    return monday, Period(start, end)


def build_weekly(workspace: Workspace, now: datetime) -> WeeklyReport:
    monday, period = last_week(now, ZoneInfo(workspace.timezone))
    goals = [
        goal_status(goal, now)
        for goal in Goal.objects.filter(workspace=workspace).select_related("workspace", "owner")
    ]
    return WeeklyReport(
        workspace=workspace,
        week_start=monday,
        period=period,
        report=build_report(workspace, period),
        goals=goals,
        terms=trending_terms(workspace, period.end, TERMS).terms,
    )


def chart_png(daily: list[tuple[str, int]], width: int = 560, height: int = 180) -> bytes:
    """A bar chart of the inbound items per day, as a PNG (for the mail and the PDF)."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    peak = max((count for _day, count in daily), default=0) or 1
    slot = width / max(len(daily), 1)
    for index, (day, count) in enumerate(daily):
        bar = int((height - 30) * count / peak)
        left = int(index * slot + slot * 0.15)
        right = int((index + 1) * slot - slot * 0.15)
        draw.rectangle((left, height - 20 - bar, right, height - 20), fill=(47, 111, 235))
        draw.text((left, height - 16), day[5:], fill=(90, 90, 90))
        draw.text((left, max(0, height - 34 - bar)), str(count), fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"  # ships with Cercle (fonts/LICENSE.md): accents, œ, ’, €, other scripts


def figures(weekly: WeeklyReport) -> list[tuple[str, str]]:
    """The key figures, labelled, in the active language."""
    report = weekly.report
    return [
        (_("Waits"), str(report.every.waits)),
        (_("Answered"), share(report.every.answered_share)),
        (_("Median first response"), seconds_as_duration(report.first.median_seconds)),
        (_("p90 first response"), seconds_as_duration(report.first.p90_seconds)),
        (_("Median response"), seconds_as_duration(report.every.median_seconds)),
        (_("Median resolution"), seconds_as_duration(report.resolution_median_seconds)),
        (_("Inbound items"), str(report.heatmap_total)),
    ]


def goal_lines(weekly: WeeklyReport) -> list[tuple[str, str, str, str]]:
    return [
        (
            status.goal.name,
            goal_figure(status.value, status.goal.is_share),
            goal_figure(status.goal.target, status.goal.is_share),
            str(status.status).replace("_", " "),
        )
        for status in weekly.goals
    ]


def pdf_bytes(weekly: WeeklyReport) -> bytes:
    """The report as a PDF: title, key figures, the chart, goals, rising terms."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    title = _("Weekly report: %(workspace)s") % {"workspace": weekly.workspace.name}
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    week = _("Week of %(day)s") % {"day": weekly.week_start.isoformat()}
    pdf.cell(0, 6, week, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for label, value in figures(weekly):
        pdf.cell(70, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.image(io.BytesIO(chart_png(weekly.report.daily)), w=170)
    pdf.ln(3)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, _("Goals"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    for name, value, target, status in goal_lines(weekly) or [(_("No goal yet."), "", "", "")]:
        pdf.cell(90, 6, name[:60])
        pdf.cell(30, 6, value)
        pdf.cell(30, 6, target)
        pdf.cell(0, 6, status, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, _("Rising terms"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    for trend in weekly.terms:
        pdf.cell(90, 6, trend.label[:60])
        pdf.cell(0, 6, f"{trend.count}  ×{trend.lift}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def wants_weekly_report(member: Member) -> bool:
    prefs = member.notifications if isinstance(member.notifications, dict) else {}
    media = prefs.get(NotificationEvent.WEEKLY_REPORT)
    return isinstance(media, dict) and bool(media.get(NotificationMedium.EMAIL))


def _due(now: datetime) -> list[tuple[Member, date]]:
    """The members who asked for the report and have not had last week's, once it is due."""
    due = []
    members = (
        Member.objects.filter(is_active=True)
        .exclude(user__email="")
        .select_related("user", "workspace")
        .order_by("pk")
    )
    for member in members:
        if not wants_weekly_report(member):
            continue
        tz = ZoneInfo(member.workspace.timezone or "UTC")
        local = now.astimezone(tz)
        if local.weekday() == 0 and local.hour < SEND_HOUR:
            continue  # Monday morning, not yet
        monday, _period = last_week(now, tz)
        if not WeeklyReportSent.objects.filter(member=member, week=monday).exists():
            due.append((member, monday))
    return due


def has_due_reports() -> bool:
    return mail_possible() and bool(_due(clock.now()))


def send_weekly_reports(now: datetime | None = None) -> int:
    """Mail last week's report to every member who asked for it; returns how many were sent."""
    now = now or clock.now()
    if not mail_possible():
        return 0
    sent = 0
    built: dict[int, WeeklyReport] = {}
    for member, monday in _due(now):
        try:
            with transaction.atomic():
                # The row first: two workers racing, one wins the unique constraint, one mail.
                WeeklyReportSent.objects.create(member=member, week=monday, sent_at=now)
        except IntegrityError:
            continue
        workspace = member.workspace
        with translation.override(workspace.language or settings.LANGUAGE_CODE):
            weekly = built.get(workspace.pk) or build_weekly(workspace, now)
            built[workspace.pk] = weekly
            message = compose(member, weekly)
        try:
            message.send()
        except OSError:
            logger.warning("weekly report to member %s not sent", member.pk, exc_info=True)
            continue
        sent += 1
    return sent


def compose(member: Member, weekly: WeeklyReport) -> EmailMultiAlternatives:
    """The mail: text, HTML with the chart inline, the PDF attached (in the active language)."""
    subject = " ".join(
        (_("[Cercle] Weekly report: %(workspace)s") % {"workspace": weekly.workspace.name}).split()
    )
    context = {
        "weekly": weekly,
        "figures": figures(weekly),
        "goals": goal_lines(weekly),
        "member": member,
        "insights_url": base_url() + reverse("insights:dashboard"),
    }
    message = EmailMultiAlternatives(
        subject,
        render_to_string("insights/mail_weekly.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [member.user.email],
    )
    message.attach_alternative(render_to_string("insights/mail_weekly.html", context), "text/html")
    chart = MIMEImage(chart_png(weekly.report.daily), "png")
    chart.add_header("Content-ID", "<chart>")  # the HTML's <img src="cid:chart">
    chart.add_header("Content-Disposition", "inline", filename="chart.png")
    message.attach(chart)
    message.attach(
        f"cercle-week-{weekly.week_start.isoformat()}.pdf", pdf_bytes(weekly), "application/pdf"
    )
    return message


__all__ = [
    "WeeklyReport",
    "build_weekly",
    "chart_png",
    "compose",
    "has_due_reports",
    "last_week",
    "pdf_bytes",
    "send_weekly_reports",
    "wants_weekly_report",
]
