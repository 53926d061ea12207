"""Pages: the member's notifications (and the bell's fragment), and the webhook settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

from . import queries
from .actions import (
    MANAGE_WEBHOOKS,
    ActionRefused,
    do_change_webhook_endpoint,
    do_create_webhook_endpoint,
    do_delete_webhook_endpoint,
    do_mark_all_notifications_read,
    do_mark_notification_read,
    do_retry_webhook_delivery,
    do_rotate_webhook_secret,
    do_send_test_webhook,
)
from .choices import DELIVERY_COLOURS, NotificationKind
from .forms import WebhookEndpointForm, WebhookEventsForm
from .models import WebhookEndpoint


@require_GET
@member_required("view")
def notification_list(request: HttpRequest) -> HttpResponse:
    """`/notifications/`: the member's notifications, newest first, unread ones marked."""
    member = current_member(request)
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(queries.notifications_for(member, unread_only=unread_only), queries.PAGE_SIZE)
    rows = page.get_page(request.GET.get("page"))
    items = [(n, queries.describe(n)) for n in rows]
    return render(
        request,
        "notifications/list.html",
        {
            "page": rows,
            "items": items,
            "unread_only": unread_only,
            "unread": queries.unread_count(member),
        },
    )


@require_GET
@member_required("view")
def bell(request: HttpRequest) -> HttpResponse:
    """The bell's fragment (polled by htmx): unread count and the newest unread one."""
    return render(request, "notifications/_bell.html", bell_context(request))


def bell_context(request: HttpRequest) -> dict[str, object]:
    member = current_member(request)
    latest = queries.latest_unread(member)
    return {
        "unread": queries.unread_count(member),
        "latest": latest,
        "latest_text": queries.describe(latest) if latest else "",
    }


@require_POST
@member_required("view")
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    do_mark_notification_read(member, queries.notification_for(member, pk))
    return redirect(request.POST.get("next") or reverse("notifications:list"))


@require_GET
@member_required("view")
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification: it is read, and its conversation opens."""
    member = current_member(request)
    notification = queries.notification_for(member, pk)
    do_mark_notification_read(member, notification)
    data = notification.activity.data
    search_id = data.get("search_id") if isinstance(data, dict) else None
    if notification.kind == NotificationKind.LISTENING_ALERT and isinstance(search_id, int):
        return redirect("listening:detail", pk=search_id)
    alert_id = data.get("alert") if isinstance(data, dict) else None
    if notification.kind == NotificationKind.CRISIS_ALERT and isinstance(alert_id, int):
        return redirect("moderation:crisis", pk=alert_id)
    if notification.activity.conversation_id is None:
        return redirect("notifications:list")
    return redirect("inbox:conversation", pk=notification.activity.conversation_id)


@require_POST
@member_required("view")
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = do_mark_all_notifications_read(current_member(request))
    messages.success(request, _("Notifications marked as read: %(count)d.") % {"count": count})
    return redirect("notifications:list")


@require_http_methods(["GET", "POST"])
@member_required(MANAGE_WEBHOOKS)
def webhooks_page(request: HttpRequest) -> HttpResponse:
    """`/settings/webhooks/`: the endpoints, a form to add one, the secret shown once."""
    member = current_member(request)
    form = WebhookEndpointForm()
    secret = ""
    created = None
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                created, secret = do_create_webhook_endpoint(
                    member,
                    member.workspace,
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                )
            except (ActionRefused, ValidationError) as exc:
                form.add_error(
                    "url", exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                )
            else:
                form = WebhookEndpointForm()
    return webhooks_page_response(request, form=form, created=created, secret=secret)


def webhooks_page_response(
    request: HttpRequest,
    *,
    form: WebhookEndpointForm | None = None,
    created: WebhookEndpoint | None = None,
    secret: str = "",
) -> HttpResponse:
    member = current_member(request)
    form = form if form is not None else WebhookEndpointForm()
    endpoints = [(e, queries.delivery_log(e, limit=20)) for e in queries.endpoints_for(member)]
    response = render(
        request,
        "notifications/webhooks.html",
        {
            "form": form,
            "endpoints": endpoints,
            "created": created,
            "secret": secret,
            "colours": DELIVERY_COLOURS,
            "active_tab": "webhooks",
        },
        status=422 if form.errors else 200,
    )
    # A page that shows a secret is not kept by the browser's cache.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@member_required(MANAGE_WEBHOOKS)
def webhook_change(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    endpoint = queries.endpoint_for(member, pk)
    form = WebhookEventsForm(request.POST)
    if form.is_valid():
        do_change_webhook_endpoint(
            member,
            endpoint,
            is_active=form.cleaned_data["is_active"],
            events=form.cleaned_data["events"],
        )
        messages.success(request, _("Webhook saved."))
    return redirect("notifications:webhooks")


@require_POST
@member_required(MANAGE_WEBHOOKS)
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new signing secret, shown once on the page this answers with."""
    member = current_member(request)
    endpoint = queries.endpoint_for(member, pk)
    secret = do_rotate_webhook_secret(member, endpoint)
    return webhooks_page_response(request, created=endpoint, secret=secret)


@require_POST
@member_required(MANAGE_WEBHOOKS)
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    do_delete_webhook_endpoint(member, queries.endpoint_for(member, pk))
    messages.success(request, _("Webhook deleted."))
    return redirect("notifications:webhooks")


@require_POST
@member_required(MANAGE_WEBHOOKS)
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    delivery = do_send_test_webhook(member, queries.endpoint_for(member, pk))
    if delivery.delivered_at:
        messages.success(
            request,
            _("Test message delivered (HTTP %(status)s).") % {"status": delivery.last_status},
        )
    else:
        messages.error(
            request, _("Test message failed: %(error)s") % {"error": delivery.last_error}
        )
    return redirect("notifications:webhooks")


@require_POST
@member_required(MANAGE_WEBHOOKS)
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    try:
        do_retry_webhook_delivery(member, queries.delivery_for(member, pk))
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The delivery will be tried again."))
    return redirect("notifications:webhooks")
