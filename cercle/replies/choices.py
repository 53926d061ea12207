"""States of a reply waiting for approval, and their colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingState(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


PENDING_STATE_COLOURS = {
    PendingState.PENDING: "amber",
    PendingState.APPROVED: "green",
    PendingState.REJECTED: "red",
    PendingState.WITHDRAWN: "grey",
}
