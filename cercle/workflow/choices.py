"""Choices of the workflow app: the SLA targets and what a breach does."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SlaTarget(models.TextChoices):
    """Which clock a due time measures."""

    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")


class SlaState(models.TextChoices):
    """Where a waiting conversation stands against its due time (shown in the list)."""

    ON_TIME = "on_time", _("On time")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


SLA_STATE_COLOURS = {SlaState.ON_TIME: "grey", SlaState.AT_RISK: "amber", SlaState.BREACHED: "red"}

WEEKDAYS = (
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
)
