"""Health of channels, with its colours, and the kinds of platform items."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Health(models.TextChoices):
    OK = "ok", _("OK")
    DEGRADED = "degraded", _("Degraded")
    NEEDS_REAUTH = "needs_reauth", _("Needs re-authentication")


HEALTH_COLOURS: dict[str, str] = {
    Health.OK: "green",
    Health.DEGRADED: "amber",
    Health.NEEDS_REAUTH: "red",
}


class ItemKind(models.TextChoices):
    """What a platform item is; connectors produce it, the inbox stores it (inbox.choices.Kind)."""

    COMMENT = "comment", _("Comment")
    REPLY = "reply", _("Reply")
    MENTION = "mention", _("Mention")
    SHARE = "share", _("Share")
    MESSAGE = "message", _("Private message")
    REVIEW = "review", _("Review")
