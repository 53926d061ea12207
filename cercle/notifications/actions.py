"""Writes of the notifications app: the drain over the Activity log, read marks, webhook endpoints.

The drain is the only way notifications and webhook deliveries are made: it
reads the Activity log from a stored cursor (`LogCursor`), in batches, and
writes what each activity means (fanout.RULES; the endpoints that want its
verb) with the cursor's advance in one transaction. Concurrent drains queue on
the cursor row (`SELECT … FOR UPDATE` on PostgreSQL, the write lock on SQLite)
and unique constraints make a replayed batch harmless: nothing is lost, nothing
is made twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from cercle.core import clock
from cercle.core.crypto import encrypt_json
from cercle.core.egress import EgressRefused, EgressUnresolvable, check_egress
from cercle.workspaces.actors import Actor, actor_fields, require
from cercle.workspaces.choices import (
    DEFAULT_NOTIFICATIONS,
    Availability,
    NotificationMedium,
    Permission,
    Verb,
)
from cercle.workspaces.models import Activity, Member, Workspace

from . import webhooks
from .choices import KIND_EVENT, DeliveryState, EmailState
from .fanout import RULES, Lookups
from .models import LogCursor, Notification, WebhookDelivery, WebhookEndpoint

CURSOR = "notifications"
DRAIN_BATCH = 500
# An id missing below the cursor is looked for again until it is this old (a rolled-back insert).
GAP_PATIENCE = timedelta(minutes=10)
# At most this many missing ids are remembered (a sequence jump is not a thousand open transactions).
MAX_GAPS = 1000
# The permission that manages webhook endpoints: owners and admins (they send the log out).
MANAGE_WEBHOOKS = Permission.MANAGE_MEMBERS


class ActionRefused(ValueError):
    """The action cannot be done; the message says why."""


def mail_possible() -> bool:
    """Whether mail can leave: a mail server is set, or another backend (the demo's console)."""
    backend = str(getattr(settings, "EMAIL_BACKEND", ""))
    return bool(getattr(settings, "EMAIL_HOST", "")) or not backend.endswith("smtp.EmailBackend")


def max_age() -> timedelta:
    """Activities older than this (imported history, a long outage) notify nobody."""
    return timedelta(hours=float(getattr(settings, "CERCLE_NOTIFY_MAX_AGE_HOURS", 24)))


@dataclass
class DrainReport:
    activities: int = 0
    notifications: int = 0
    deliveries: int = 0


def _cursor() -> LogCursor:
    """The drain's cursor; a new one starts at the first activity young enough to notify about."""
    cursor = LogCursor.objects.filter(name=CURSOR).first()
    if cursor is not None:
        return cursor
    first = (
        Activity.objects.filter(created_at__gte=clock.now() - max_age())
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    start = (first - 1) if first is not None else latest_activity_id()
    cursor, _created = LogCursor.objects.get_or_create(name=CURSOR, defaults={"last_id": start})
    return cursor


def latest_activity_id() -> int:
    return Activity.objects.aggregate(last=Max("id"))["last"] or 0


def has_work() -> bool:
    """Whether the drain has anything to read (the scheduler asks before enqueueing it)."""
    cursor = LogCursor.objects.filter(name=CURSOR).only("last_id", "gaps").first()
    if cursor is None:
        return Activity.objects.exists()
    gap_ids = [g[0] for g in cursor.gaps if isinstance(g, list) and g]
    # A gap is work only once its row has appeared (they expire at the next drain otherwise).
    return Activity.objects.filter(Q(id__gt=cursor.last_id) | Q(id__in=gap_ids)).exists()


def do_drain_activity_log(batch: int = DRAIN_BATCH) -> DrainReport:
    """Read the next batch of the Activity log: notifications and webhook deliveries. Idempotent."""
    report = DrainReport()
    _cursor()
    now = clock.now()
    with transaction.atomic():
        cursor = LogCursor.objects.select_for_update().get(name=CURSOR)
        gaps = {int(g[0]): str(g[1]) for g in cursor.gaps if isinstance(g, list) and len(g) == 2}
        rows = list(
            Activity.objects.filter(Q(id__gt=cursor.last_id) | Q(id__in=list(gaps)))
            .select_related("workspace", "actor__user", "conversation", "message", "channel")
            .order_by("id")[:batch]
        )
        seen = {a.pk for a in rows}
        new_ids = [pk for pk in seen if pk > cursor.last_id]
        last = max(new_ids, default=cursor.last_id)
        for missing in range(cursor.last_id + 1, last):
            if len(gaps) >= MAX_GAPS:
                break
            if missing not in seen:
                gaps[missing] = now.isoformat()
        kept = [
            [pk, since]
            for pk, since in sorted(gaps.items())
            if pk not in seen and datetime.fromisoformat(since) > now - GAP_PATIENCE
        ]
        young = [a for a in rows if a.created_at >= now - max_age()]
        report.activities = len(rows)
        report.notifications = _notify(young)
        report.deliveries = _queue_deliveries(young, now)
        cursor.last_id = last
        cursor.gaps = kept
        cursor.updated_at = now
        cursor.save(update_fields=["last_id", "gaps", "updated_at"])
    return report


def _notify(activities: list[Activity]) -> int:
    """Notification rows for the members each activity concerns, as their preferences say."""
    wanted: list[tuple[Activity, str, set[int]]] = []
    lookups = Lookups()
    for activity in activities:
        rule = RULES.get(activity.verb)
        if rule is None:
            continue
        recipients = rule.recipients(activity, lookups) - {activity.actor_id}
        if recipients:
            wanted.append((activity, rule.kind, recipients))
    if not wanted:
        return 0
    ids = set().union(*(r for _a, _k, r in wanted))
    members = {
        m.pk: m for m in Member.objects.filter(pk__in=ids, is_active=True).select_related("user")
    }
    rows: list[Notification] = []
    for activity, kind, recipients in wanted:
        event = KIND_EVENT[kind]
        for member_id in sorted(recipients):
            member = members.get(member_id)
            if member is None or member.workspace_id != activity.workspace_id:
                continue  # another workspace's id in hostile data reaches nobody
            in_app, email = _wants(member, event)
            if not (in_app or email):
                continue
            rows.append(
                Notification(
                    workspace_id=activity.workspace_id,
                    member=member,
                    activity=activity,
                    kind=kind,
                    in_app=in_app,
                    email_state=EmailState.PENDING if email else EmailState.NONE,
                    created_at=activity.created_at,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _wants(member: Member, event: str) -> tuple[bool, bool]:
    """(in the app, by e-mail now) for `event`: e-mail only while the member is away or off."""
    prefs = member.notifications if isinstance(member.notifications, dict) else {}
    media = prefs.get(event)
    if not isinstance(media, dict):
        media = DEFAULT_NOTIFICATIONS.get(event, {})
    in_app = bool(media.get(NotificationMedium.IN_APP, False))
    email = bool(media.get(NotificationMedium.EMAIL, False)) and member.availability in (
        Availability.AWAY,
        Availability.OFF,
    )
    return in_app, email and bool(member.user.email) and mail_possible()


def _named_webhooks(activity: Activity) -> set[int]:
    """The endpoints an activity asks for by id (a moderation rule's webhook action)."""
    data = activity.data if isinstance(activity.data, dict) else {}
    named = data.get("webhooks")
    if not isinstance(named, list):
        return set()
    return {v for v in named if isinstance(v, int) and not isinstance(v, bool)}


def _queue_deliveries(activities: list[Activity], now: datetime) -> int:
    """A WebhookDelivery per active endpoint that wants each activity's verb."""
    if not activities:
        return 0
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        is_active=True, workspace_id__in={a.workspace_id for a in activities}
    ):
        endpoints[endpoint.workspace_id].append(endpoint)
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            activity=activity,
            message_id=webhooks.new_message_id(),
            event_type=f"activity.{activity.verb}",
            payload=webhooks.activity_payload(activity),
            next_attempt_at=now,
            created_at=now,
        )
        for activity in activities
        for endpoint in endpoints.get(activity.workspace_id, [])
        if activity.pk > endpoint.start_after
        and (endpoint.wants(activity.verb) or endpoint.pk in _named_webhooks(activity))
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# Read marks: a member's own state, not a change of the workspace: no Activity row.


def do_mark_notification_read(member: Member, notification: Notification) -> None:
    if notification.member_id != member.pk:
        raise PermissionDenied("another member's notification")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=clock.now()
    )


def do_mark_all_notifications_read(member: Member) -> int:
    return Notification.objects.filter(member=member, read_at__isnull=True).update(
        read_at=clock.now()
    )


# Webhook endpoints (owners and admins), logged as workspace settings changes.


def _log_setting(workspace_id: int, actor: Actor, change: str, endpoint: WebhookEndpoint) -> None:
    Activity.objects.create(
        workspace_id=workspace_id,
        verb=Verb.WORKSPACE_CHANGED,
        # Never the URL (it may carry a token, as team chats' do) nor the secret.
        data={"setting": "webhook", "change": change, "id": endpoint.pk, "name": endpoint.name},
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _check_url(url: str) -> None:
    try:
        check_egress(url)
    except EgressRefused as exc:
        raise ActionRefused(
            _("This address is private or not reachable from Cercle; use a public https URL.")
        ) from exc
    except EgressUnresolvable:
        pass  # the name may resolve later; every attempt is checked again


def _clean_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in Verb.values and e not in RULES]
    if unknown:
        raise ValidationError(_("Unknown events: %(events)s") % {"events": ", ".join(unknown)})
    return sorted(set(events))


def do_create_webhook_endpoint(
    actor: Actor, workspace: Workspace, *, name: str, url: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once: only its encryption is stored)."""
    require(actor, MANAGE_WEBHOOKS, workspace.pk)
    _check_url(url)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        workspace=workspace,
        name=name.strip()[:120] or url[:120],
        url=url,
        events=_clean_events(events),
        secret_encrypted=encrypt_json({"secret": secret}),
        created_by=actor if isinstance(actor, Member) else None,
    )
    endpoint.full_clean(exclude=["workspace", "created_by"])
    with transaction.atomic():
        endpoint.start_after = latest_activity_id()
        endpoint.save()
        _log_setting(workspace.pk, actor, "created", endpoint)
    return endpoint, secret


def do_change_webhook_endpoint(
    actor: Actor, endpoint: WebhookEndpoint, *, is_active: bool, events: list[str]
) -> WebhookEndpoint:
    """Pause or resume an endpoint, or change the events it receives."""
    require(actor, MANAGE_WEBHOOKS, endpoint.workspace_id)
    endpoint.events = _clean_events(events)
    with transaction.atomic():
        if is_active and not endpoint.is_active:
            # Resumed: what happened while it was paused is not sent all at once.
            endpoint.start_after = latest_activity_id()
        endpoint.is_active = is_active
        endpoint.save(update_fields=["events", "is_active", "start_after"])
        _log_setting(endpoint.workspace_id, actor, "changed", endpoint)
    return endpoint


def do_rotate_webhook_secret(actor: Actor, endpoint: WebhookEndpoint) -> str:
    """A new signing secret for the endpoint (returned once); the old one stops signing at once."""
    require(actor, MANAGE_WEBHOOKS, endpoint.workspace_id)
    secret = webhooks.new_secret()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret_encrypted=encrypt_json({"secret": secret})
        )
        _log_setting(endpoint.workspace_id, actor, "secret_rotated", endpoint)
    return secret


def do_delete_webhook_endpoint(actor: Actor, endpoint: WebhookEndpoint) -> None:
    require(actor, MANAGE_WEBHOOKS, endpoint.workspace_id)
    with transaction.atomic():
        _log_setting(endpoint.workspace_id, actor, "deleted", endpoint)
        endpoint.delete()


def do_send_test_webhook(actor: Actor, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a test message now, once (no retry), and keep it in the delivery log."""
    require(actor, MANAGE_WEBHOOKS, endpoint.workspace_id)
    now = clock.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=webhooks.new_message_id(),
        event_type=webhooks.TEST_EVENT,
        payload=webhooks.test_payload(endpoint),
        state=DeliveryState.PENDING,
        next_attempt_at=None,
        created_at=now,
    )
    return webhooks.record(delivery.pk, webhooks.attempt(delivery), retry=False)


def do_retry_webhook_delivery(actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Try a failed delivery again (its attempts start over)."""
    require(actor, MANAGE_WEBHOOKS, delivery.endpoint.workspace_id)
    if delivery.state != DeliveryState.FAILED or delivery.activity_id is None:
        raise ActionRefused(_("Only a failed delivery of an activity can be retried."))
    WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=clock.now()
    )
    delivery.refresh_from_db()
    return delivery
