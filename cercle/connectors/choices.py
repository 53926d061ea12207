"""States of channels, raw events and outbox rows, with their colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Health(models.TextChoices):
    OK = "ok", _("OK")
    DEGRADED = "degraded", _("Degraded")
    NEEDS_REAUTH = "needs_reauth", _("Needs re-authentication")


HEALTH_COLOURS = {Health.OK: "green", Health.DEGRADED: "amber", Health.NEEDS_REAUTH: "red"}


class RawEventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Processed")
    FAILED = "failed", _("Failed")


class OutboxState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    UNKNOWN = "unknown", _("Result unknown")  # the platform may or may not have done it
    WAITING = "waiting", _("Waiting for reconnection")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


OUTBOX_OPEN_STATES = (OutboxState.QUEUED, OutboxState.UNKNOWN, OutboxState.WAITING)
