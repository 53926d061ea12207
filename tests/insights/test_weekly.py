"""The weekly report: mailed on Monday to the members who asked (once), and as a PDF download."""

import re
import zlib
from datetime import UTC, datetime, timedelta

from django.core import mail

from cercle.core import clock
from cercle.insights.actions import do_save_goal
from cercle.insights.models import Goal
from cercle.insights.weekly import build_weekly, last_week, send_weekly_reports
from cercle.workspaces.models import Member
from tests.insights.test_metrics import receive_at

MONDAY_9H = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Paris


def _wants_report(member: Member) -> None:
    prefs = dict(member.notifications)
    prefs["weekly_report"] = {"in_app": False, "email": True}
    Member.objects.filter(pk=member.pk).update(notifications=prefs)


def _week(owner, workspace, sim_channel):  # type: ignore[no-untyped-def]
    for day in range(1, 6):
        receive_at(sim_channel, f"w{day}", MONDAY_9H - timedelta(days=day), f"w{day}")
    do_save_goal(owner, workspace, Goal(name="Réponses", kpi="answer_rate", target=90))


def test_last_week_is_monday_to_sunday_in_the_workspace_time_zone():
    from zoneinfo import ZoneInfo

    monday, period = last_week(MONDAY_9H, ZoneInfo("Europe/Paris"))
    assert (monday.isoformat(), period.start.isoformat(), period.end.isoformat()) == (
        "2026-11-23",
        "2026-11-23T00:00:00+01:00",
        "2026-11-30T00:00:00+01:00",
    )


def test_the_report_is_mailed_once_to_members_who_asked(owner, agent, workspace, sim_channel):
    owner.user.email, agent.user.email = "lea@example.org", "sam@example.org"
    owner.user.save()
    agent.user.save()
    _week(owner, workspace, sim_channel)
    _wants_report(owner)
    with clock.at(MONDAY_9H - timedelta(hours=2)):
        assert send_weekly_reports() == 0  # Monday 07:00 in Paris: not yet
    with clock.at(MONDAY_9H):
        assert send_weekly_reports() == 1
        assert send_weekly_reports() == 0
    (message,) = mail.outbox
    assert message.to == ["lea@example.org"] and "Maison Lumen" in message.subject
    html = message.alternatives[0][0]
    assert 'src="cid:chart"' in html and "Réponses" in html
    assert "5" in message.body and "Réponses" in message.body
    kinds = {part.get_content_type() for part in message.message().walk()}
    assert {"image/png", "application/pdf", "text/html"} <= kinds


def test_the_pdf_download_holds_the_week(client, owner, workspace, sim_channel):
    _week(owner, workspace, sim_channel)
    client.force_login(owner.user)
    with clock.at(MONDAY_9H):
        response = client.get("/insights/weekly.pdf")
        weekly = build_weekly(workspace, MONDAY_9H)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].endswith('cercle-week-2026-11-23.pdf"')
    assert weekly.report.heatmap_total == 5 and [g.goal.name for g in weekly.goals] == ["Réponses"]


def _pdf_text_maps(pdf: bytes) -> str:
    """The PDF's decompressed streams: its fonts' ToUnicode maps name every character drawn."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "\n".join(out)


def test_the_pdf_writes_names_as_written_beyond_latin_1(client, owner, workspace, sim_channel):
    _week(owner, workspace, sim_channel)
    do_save_goal(
        owner, workspace, Goal(name="Œuvre “rapide” — Ωmega", kpi="answer_rate", target=90)
    )
    client.force_login(owner.user)
    with clock.at(MONDAY_9H):
        response = client.get("/insights/weekly.pdf")
    maps = _pdf_text_maps(response.content).upper()
    # Œ U+0152, “ U+201C, ” U+201D, — U+2014, Ω U+03A9: drawn with their own glyphs, not "?".
    assert [code in maps for code in ("<0152>", "<201C>", "<201D>", "<2014>", "<03A9>")] == [
        True
    ] * 5
