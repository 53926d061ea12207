"""Channel pages: the list with health and backlog, adding (OAuth or manual), testing, reconnecting, disconnecting.

Every lookup is scoped by the member's workspace (another workspace's channel
is a 404). Views only read and call actions; connectors make the platform calls.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.connectors import oauth
from cercle.connectors.base import Capability, Connector, ConnectorError, OAuthTokens, TokenRevoked
from cercle.connectors.choices import HEALTH_COLOURS, Health
from cercle.connectors.http import PlatformHttp
from cercle.connectors.models import Channel
from cercle.connectors.registry import UnknownPlatform, connector_class
from cercle.core.crypto import SecretUnreadable
from cercle.core.egress import EgressRefused
from cercle.pipeline.actions import (
    AccountMismatch,
    do_connect_channel,
    do_deactivate_channel,
    do_set_channel_health,
    do_store_credentials,
)
from cercle.pipeline.forms import ManualChannelForm
from cercle.pipeline.queries import (
    Backlog,
    backlog_for,
    channel_for,
    channels_for,
    connector_class_or_404,
    find_account_channel,
    platform_choices,
    quota_view,
)
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member

logger = logging.getLogger(__name__)


def _workspace(request: HttpRequest) -> Any:
    return current_member(request).workspace


def _member(request: HttpRequest) -> Any:
    return current_member(request)


def _list_url(channel: Channel | None = None) -> str:
    url = reverse("pipeline:list")
    return f"{url}#channel-{channel.pk}" if channel is not None else url


# --- the list ------------------------------------------------------------------


@dataclass
class ChannelRow:
    """Everything the list shows about one channel."""

    channel: Channel
    label: str
    health_colour: str
    health_label: str
    uses_oauth: bool
    polls: bool
    quota: dict[str, object] | None
    paused_until: datetime | None
    backlog: Backlog
    webhook_url: str = ""
    instructions: dict[str, str] = dataclasses.field(default_factory=dict)
    problem: str = ""


def _row(
    request: HttpRequest, channel: Channel, backlog: Backlog, http: PlatformHttp, manage: bool
) -> ChannelRow:
    now = timezone.now()
    row = ChannelRow(
        channel=channel,
        label=channel.platform,
        health_colour=HEALTH_COLOURS.get(Health(channel.health), "grey"),
        health_label=str(Health(channel.health).label),
        uses_oauth=False,
        polls=False,
        quota=quota_view(channel),
        paused_until=channel.paused_until
        if channel.paused_until and channel.paused_until > now
        else None,
        backlog=backlog,
    )
    try:
        cls = connector_class(channel.platform)
    except UnknownPlatform:
        row.problem = _("No connector is installed for this platform any more.")
        return row
    row.label = str(cls.label)
    row.uses_oauth = Capability.OAUTH in cls.capabilities
    row.polls = Capability.POLL in cls.capabilities
    if Capability.WEBHOOK in cls.capabilities:
        row.webhook_url = request.build_absolute_uri(
            reverse("pipeline:webhook", kwargs={"channel_uuid": channel.uuid})
        )
    if manage:
        try:
            row.instructions = {
                str(k): str(v) for k, v in cls(channel, http).setup_instructions().items()
            }
        except SecretUnreadable:
            row.problem = _(
                "The stored credentials cannot be read (the encryption key changed): reconnect."
            )
        except Exception:  # a connector's bug must not take the whole page down
            logger.exception("setup_instructions failed for channel %s", channel.pk)
    return row


@require_GET
@member_required("view")
def channel_list(request: HttpRequest) -> HttpResponse:
    """The workspace's channels: health, quota, backlog and what to paste into each platform."""
    channels = list(channels_for(_workspace(request)))
    backlogs = backlog_for(channels)
    manage = _member(request).can("manage_channels")
    http = PlatformHttp()
    try:
        rows = [_row(request, c, backlogs.get(c.pk, Backlog()), http, manage) for c in channels]
    finally:
        http.close()
    return render(request, "pipeline/list.html", {"rows": rows, "can_manage": manage})


# --- adding ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required("manage_channels")
def channel_add(request: HttpRequest) -> HttpResponse:
    """The registered platforms; POST starts connecting one (OAuth, or the manual form)."""
    if request.method == "POST":
        platform = request.POST.get("platform", "")
        cls = connector_class_or_404(platform)
        if Capability.OAUTH in cls.capabilities:
            return _start_oauth(request, cls, channel=None)
        return redirect("pipeline:add_manual", platform=platform)
    return render(
        request,
        "pipeline/add.html",
        {"platforms": platform_choices(oauth.configured_platforms())},
    )


@require_http_methods(["GET", "POST"])
@member_required("manage_channels")
def channel_add_manual(request: HttpRequest, platform: str) -> HttpResponse:
    """Connect a platform without OAuth by typing what its connector declares (`setup_fields`)."""
    cls = connector_class_or_404(platform)
    if Capability.OAUTH in cls.capabilities or not cls.setup_fields:
        messages.error(
            request,
            _("%(platform)s is connected from the list of platforms.") % {"platform": cls.label},
        )
        return redirect("pipeline:add")
    form = ManualChannelForm(cls, request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = _workspace(request)
        external_id = form.cleaned_data["external_id"].strip()
        known = find_account_channel(workspace, platform, external_id)
        if known is not None and known.is_active:
            form.add_error("external_id", _("This account is already connected in this workspace."))
        else:
            # A disconnected account comes back with its history and the new secrets.
            connection = do_connect_channel(
                _member(request),
                workspace,
                platform,
                OAuthTokens(credentials=form.credentials(), account_id=external_id),
                name=form.cleaned_data["name"],
                config=form.config(),
                reconnecting=known,
            )
            messages.success(
                request, _("Channel “%(name)s” connected.") % {"name": connection.channel.name}
            )
            return redirect(_list_url(connection.channel))
    return render(
        request,
        "pipeline/add_manual.html",
        {"form": form, "label": cls.label, "platform": platform},
    )


def _start_oauth(
    request: HttpRequest, cls: type[Connector], channel: Channel | None
) -> HttpResponse:
    """Remember a fresh `state` and send the browser to the platform's consent page."""
    workspace = _workspace(request)
    if not oauth.is_configured(cls.platform):
        messages.error(
            request,
            _(
                "%(platform)s is not set up on this server yet: the administrator must set "
                "CERCLE_%(env)s_CLIENT_ID and CERCLE_%(env)s_CLIENT_SECRET."
            )
            % {"platform": cls.label, "env": cls.platform.upper()},
        )
        return redirect("pipeline:add" if channel is None else "pipeline:list")
    if channel is None:
        subject = oauth.pre_connect_channel(workspace.pk, cls.platform)
    else:
        subject = oauth.with_current_app(channel)
    state = oauth.issue_state(
        request.session, cls.platform, workspace.pk, channel.pk if channel else None
    )
    http = PlatformHttp()
    try:
        url = cls(subject, http).authorize_url(state, oauth.redirect_uri(request))
    except (NotImplementedError, ConnectorError) as exc:
        logger.warning("authorize_url failed for %s: %r", cls.platform, exc)
        messages.error(
            request, _("%(platform)s cannot be connected this way.") % {"platform": cls.label}
        )
        return redirect("pipeline:add")
    finally:
        http.close()
    # The consent page is on the platform's site: an off-site redirect on purpose.
    return HttpResponseRedirect(url)


def _oauth_error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "pipeline/oauth_error.html", {"message": message}, status=status)


@require_GET
@member_required("manage_channels")
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the platform sends the browser back: check `state`, exchange the code, store the channel."""
    flow = oauth.consume_state(request.session, request.GET.get("state", ""))
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            return _oauth_error(
                request, _("Access was not granted on the platform, so nothing was connected."), 200
            )
        detail = request.GET.get("error_description", "") or error
        return _oauth_error(
            request, _("The platform refused the connection: %(detail)s") % {"detail": detail[:300]}
        )
    if flow is None:
        return _oauth_error(
            request,
            _(
                "This connection link is invalid or has expired (it works once, within 10 minutes, "
                "in the browser that started it). Nothing was stored; please start again."
            ),
        )
    workspace = _workspace(request)
    if flow.workspace_id != workspace.pk:
        return _oauth_error(
            request,
            _(
                "You switched workspace during the connection. Nothing was stored; please start again."
            ),
        )
    code = request.GET.get("code", "")
    if not code:
        return _oauth_error(
            request, _("The platform sent no authorisation code. Nothing was stored.")
        )
    try:
        cls = connector_class(flow.platform)
    except UnknownPlatform:
        return _oauth_error(request, _("This platform is no longer installed."))
    reconnecting: Channel | None = None
    if flow.channel_id is not None:
        reconnecting = Channel.objects.filter(workspace=workspace, pk=flow.channel_id).first()
        if reconnecting is None:
            return _oauth_error(request, _("The channel to reconnect no longer exists."), 404)
        subject = oauth.with_current_app(reconnecting)
    else:
        subject = oauth.pre_connect_channel(workspace.pk, flow.platform)
    http = PlatformHttp()
    try:
        tokens = cls(subject, http).exchange_code(code, oauth.redirect_uri(request))
    except ConnectorError as exc:
        return _oauth_error(
            request,
            _("The platform did not accept the connection: %(detail)s")
            % {"detail": exc.detail or exc},
        )
    except (NotImplementedError, EgressRefused) as exc:
        logger.warning("exchange_code failed for %s: %r", flow.platform, exc)
        return _oauth_error(request, _("The connection could not be completed."))
    finally:
        http.close()
    return _store_connection(request, cls, tokens, reconnecting)


def _store_connection(
    request: HttpRequest, cls: type[Connector], tokens: OAuthTokens, reconnecting: Channel | None
) -> HttpResponse:
    """Create the channel, or update the existing one for this account (reconnect), then go to the list."""
    workspace = _workspace(request)
    known = reconnecting or find_account_channel(workspace, cls.platform, tokens.account_id)
    previous = _readable(known) if known is not None else {}
    credentials = oauth.merged_credentials(cls.platform, previous, tokens)
    if known is None:
        credentials = oauth.stored_credentials(tokens, credentials, timezone.now())
    try:
        connection = do_connect_channel(
            _member(request),
            workspace,
            cls.platform,
            dataclasses.replace(tokens, credentials=credentials),
            name=tokens.account_name or str(cls.label),
            config=oauth.new_channel_config(cls.platform),
            reconnecting=reconnecting,
        )
    except AccountMismatch:
        return _oauth_error(
            request,
            _(
                "You signed in with a different account than the one of “%(name)s”. Nothing was "
                "changed; sign in with the right account, or add the other one as a new channel."
            )
            % {"name": known.name if known else ""},
        )
    text = (
        _("Channel “%(name)s” connected.")
        if connection.created
        else _("Channel “%(name)s” reconnected.")
    )
    messages.success(request, text % {"name": connection.channel.name})
    return redirect(_list_url(connection.channel))


def _readable(channel: Channel) -> dict[str, Any]:
    """The channel's credentials, or nothing when they can no longer be decrypted (a reconnect replaces them)."""
    try:
        return channel.credentials
    except SecretUnreadable:
        return {}


# --- one channel -------------------------------------------------------------------


@require_POST
@member_required("manage_channels")
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Make one cheap authenticated call and say what happened, naming the channel."""
    channel = channel_for(_workspace(request), channel_id)
    level, text = messages.ERROR, ""
    http = PlatformHttp()
    try:
        cls = connector_class(channel.platform)
        summary = cls(channel, http).test_connection()
    except TokenRevoked as exc:
        do_set_channel_health(channel, Health.NEEDS_REAUTH, exc.detail)
        text = _(
            "Connection failed: the platform no longer accepts the credentials (%(detail)s). "
            "Reconnect the channel."
        ) % {"detail": exc.detail or _("token revoked")}
    except ConnectorError as exc:
        text = _("Connection failed (%(kind)s): %(detail)s") % {
            "kind": type(exc).__name__,
            "detail": exc.detail or _("no detail given"),
        }
    except (NotImplementedError, UnknownPlatform):
        text = _("This platform cannot test its connection.")
    except EgressRefused as exc:
        text = _("Connection refused by the egress guard: %(detail)s") % {"detail": exc}
    except SecretUnreadable:
        text = _("The stored credentials cannot be read: reconnect the channel.")
    else:
        level = messages.SUCCESS
        text = _("Connection works: %(summary)s") % {
            "summary": summary or _("the platform answered")
        }
    finally:
        http.close()
    messages.add_message(request, level, f"“{channel.name}” — {text}")
    return redirect(_list_url(channel))


@require_http_methods(["GET", "POST"])
@member_required("manage_channels")
def channel_reconnect(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Renew a channel's credentials: through OAuth (POST), or the manual form for other platforms."""
    channel = channel_for(_workspace(request), channel_id)
    cls = connector_class_or_404(channel.platform)
    if Capability.OAUTH in cls.capabilities:
        if request.method != "POST":
            return redirect(_list_url(channel))
        return _start_oauth(request, cls, channel=channel)
    form = ManualChannelForm(
        cls,
        request.POST or None,
        initial={
            "name": channel.name,
            "external_id": channel.external_id,
            **{f"setup_{k}": v for k, v in channel.config.items()},
        },
    )
    # A reconnect renews secrets only: renaming or moving the account is not a reconnect,
    # and a secret left blank keeps its stored value.
    for spec in cls.setup_fields:
        form.fields[f"setup_{spec.name}"].disabled = not spec.secret
        form.fields[f"setup_{spec.name}"].required = False
    form.fields["name"].disabled = True
    form.fields["external_id"].disabled = True
    if request.method == "POST" and form.is_valid():
        credentials = {**_readable(channel), **form.credentials()}
        do_store_credentials(channel, OAuthTokens(credentials=credentials), actor=_member(request))
        messages.success(request, _("Channel “%(name)s” reconnected.") % {"name": channel.name})
        return redirect(_list_url(channel))
    return render(
        request,
        "pipeline/add_manual.html",
        {"form": form, "label": cls.label, "platform": channel.platform, "channel": channel},
    )


@require_POST
@member_required("manage_channels")
def channel_disconnect(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Deactivate a channel: nothing more is received or sent; its history stays."""
    channel = channel_for(_workspace(request), channel_id)
    failed = do_deactivate_channel(channel, _member(request))
    text = _("Channel “%(name)s” disconnected.") % {"name": channel.name}
    if failed:
        text += " " + ngettext(
            "%(count)d undelivered item was marked as failed.",
            "%(count)d undelivered items were marked as failed.",
            failed,
        ) % {"count": failed}
    messages.success(request, text)
    return redirect("pipeline:list")
