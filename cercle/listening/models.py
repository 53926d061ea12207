"""Listening: searches the workspace defines, and the public mentions they found.

Mentions are not inbox messages: they live here, outside the inbox, until
someone promotes one (it then becomes a conversation through the inbox's
receive action, and `conversation` points at it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from cercle.core import clock
from cercle.moderation.choices import Sentiment

from .matcher import Query

DEFAULT_RUN_EVERY = timedelta(minutes=15)


class PromoteWhen(models.TextChoices):
    """Which mentions a search turns into inbox conversations by itself (an automation)."""

    NEVER = "", _("Never (by hand only)")
    ALWAYS = "always", _("Every mention")
    NEGATIVE = "negative", _("When it is negative")
    QUESTION = "question", _("When it is a question")


class ListeningSearch(models.Model):
    """A brand, product or hashtag to follow on the platforms that can search."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="listening_searches"
    )
    name = models.CharField(_("name"), max_length=120)
    all_of = models.JSONField(_("all of these words"), default=list, blank=True)
    any_of = models.JSONField(_("any of these words"), default=list, blank=True)
    none_of = models.JSONField(_("none of these words"), default=list, blank=True)
    # Language codes ("fr", "en"); empty: every language.
    languages = models.JSONField(_("languages"), default=list, blank=True)
    # The channels whose platform search is used; empty: every channel that can search.
    channels = models.ManyToManyField(
        "connectors.Channel", blank=True, related_name="listening_searches"
    )
    active = models.BooleanField(_("active"), default=True)
    promote_when = models.CharField(
        _("promote to the inbox"),
        max_length=16,
        choices=PromoteWhen.choices,
        blank=True,
        default=PromoteWhen.NEVER,
    )
    # How often the search runs (platform searches count against tight limits; the demo's
    # search runs every minute so that its mentions arrive live).
    run_every = models.DurationField(default=DEFAULT_RUN_EVERY)
    created_at = models.DateTimeField(default=clock.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The start of the volume or negative-share jump under way (None: calm); one alert per episode.
    alert_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def query(self) -> Query:
        return Query(
            all_of=tuple(self.all_of),
            any_of=tuple(self.any_of),
            none_of=tuple(self.none_of),
            languages=tuple(self.languages),
        )


class Mention(models.Model):
    """One public item a search found, stored once per workspace (across sources and searches)."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="mentions"
    )
    search = models.ForeignKey(ListeningSearch, on_delete=models.CASCADE, related_name="mentions")
    channel = models.ForeignKey(
        "connectors.Channel", on_delete=models.CASCADE, related_name="mentions"
    )
    external_id = models.CharField(max_length=200)
    url = models.URLField(max_length=1000, blank=True)
    author_external_id = models.CharField(max_length=200, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_handle = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    intent = models.CharField(max_length=16, blank=True)  # moderation's Intent value
    published_at = models.DateTimeField(db_index=True)
    found_at = models.DateTimeField(default=clock.now)
    # The normalised URL, or platform:id when the item has no URL (see `dedupe.key_of`).
    dedupe_key = models.CharField(max_length=500)
    conversation = models.ForeignKey(
        "inbox.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "dedupe_key"], name="mention_ws_dedupe_uniq"
            ),
        ]
        indexes = [models.Index(fields=["search", "published_at"], name="mention_search_time")]

    def __str__(self) -> str:
        return f"{self.author_handle}: {self.text[:60]}"

    @property
    def when(self) -> datetime:
        return self.published_at


class UnavailableSource(models.Model):
    """A channel whose platform refuses search to the account's plan (X without search access).

    Listening skips it until `retry_at`, instead of asking again on every run; the
    page says why. Deleted when a later try works.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.OneToOneField(
        "connectors.Channel", on_delete=models.CASCADE, related_name="listening_unavailable"
    )
    detail = models.CharField(max_length=500, blank=True)
    since = models.DateTimeField(default=clock.now)
    retry_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.detail[:60]}"
