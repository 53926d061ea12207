"""Reads of the notifications app, scoped by member or workspace."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from cercle.workspaces.models import Activity, Member

from .choices import NotificationKind
from .models import Notification, WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 50


def unread_count(member: Member) -> int:
    return Notification.objects.filter(member=member, in_app=True, read_at__isnull=True).count()


def latest_unread(member: Member) -> Notification | None:
    return (
        Notification.objects.filter(member=member, in_app=True, read_at__isnull=True)
        .select_related("activity__actor__user", "activity__conversation")
        .order_by("-id")
        .first()
    )


def notifications_for(member: Member, *, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(member=member, in_app=True)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.select_related(
        "activity__actor__user", "activity__conversation__contact", "activity__channel"
    ).order_by("-id")


def notification_for(member: Member, pk: int) -> Notification:
    """The member's own notification, else 404 (another member's is not theirs to see)."""
    try:
        return Notification.objects.select_related("activity").get(pk=pk, member=member)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc


def describe(notification: Notification) -> str:
    """One sentence: who did what that concerns the member (plain text; templates escape it)."""
    activity = notification.activity
    actor = activity.actor.name if activity.actor else (activity.automation_name or "Cercle")
    kind = notification.kind
    if kind == NotificationKind.MENTION:
        return _("%(actor)s mentioned you in a note") % {"actor": actor}
    if kind == NotificationKind.ASSIGNMENT:
        return _("%(actor)s assigned a conversation to you") % {"actor": actor}
    if kind == NotificationKind.SLA_AT_RISK:
        return _("A conversation of yours is due soon")
    if kind == NotificationKind.SLA_BREACHED:
        return _("A conversation of yours is past its due time")
    if kind == NotificationKind.APPROVAL_REQUESTED:
        return _("%(actor)s asks you to approve a reply") % {"actor": actor}
    if kind == NotificationKind.REPLY_APPROVED:
        return _("%(actor)s approved your reply") % {"actor": actor}
    if kind == NotificationKind.REPLY_REJECTED:
        return _("%(actor)s sent your reply back") % {"actor": actor}
    alert = _describe_alert(kind, activity)
    if alert is not None:
        return alert
    return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind


def _describe_alert(kind: str, activity: Activity) -> str | None:
    """The sentence of an alert, which depends on what the alert saw; None for another kind."""
    data = activity.data if isinstance(activity.data, dict) else {}
    if kind == NotificationKind.LISTENING_ALERT:
        name = str(data.get("name", ""))
        if data.get("negative") and not data.get("volume"):
            return _("Listening: negative mentions jump for “%(name)s”") % {"name": name}
        return _("Listening: mentions jump for “%(name)s”") % {"name": name}
    if kind == NotificationKind.RULE_ALERT:
        return _("Rule “%(rule)s” asks you to look at a message") % {
            "rule": str(data.get("rule_name", ""))
        }
    if kind == NotificationKind.CRISIS_ALERT:
        channel = activity.channel.name if activity.channel else ""
        if data.get("signal") == "negative":
            return _("Crisis: negative messages surge on %(channel)s") % {"channel": channel}
        return _("Crisis: message volume surges on %(channel)s") % {"channel": channel}
    return None


def active_endpoints(workspace_id: int) -> dict[int, str]:
    """The workspace's active outgoing webhooks, id → name (what a rule's webhook action names)."""
    return dict(
        WebhookEndpoint.objects.filter(workspace_id=workspace_id, is_active=True).values_list(
            "pk", "name"
        )
    )


def endpoints_for(member: Member) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace_id=member.workspace_id).order_by("name", "pk")


def endpoint_for(member: Member, pk: int) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(pk=pk, workspace_id=member.workspace_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise Http404 from exc


def delivery_for(member: Member, pk: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.select_related("endpoint").get(
            pk=pk, endpoint__workspace_id=member.workspace_id
        )
    except WebhookDelivery.DoesNotExist as exc:
        raise Http404 from exc


def delivery_log(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-id")[:limit])
