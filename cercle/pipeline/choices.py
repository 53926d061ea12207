"""States of raw inbound events."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RawEventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Processed")
    # Stored except some items, kept in RawEvent.item_errors with the reason.
    PARTIAL = "partial", _("Partly processed")
    FAILED = "failed", _("Failed")
