"""Choices of the moderation app: rules, suggestions, and the labels of the classifiers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleMode(models.TextChoices):
    LIVE = "live", _("Live")
    SUGGEST = "suggest", _("Suggest only")
    OFF = "off", _("Off")


RULE_MODE_COLOURS = {RuleMode.LIVE: "green", RuleMode.SUGGEST: "amber", RuleMode.OFF: "grey"}


class ConditionField(models.TextChoices):
    CHANNEL = "channel", _("Channel")
    PLATFORM = "platform", _("Platform")
    KIND = "kind", _("Kind")
    LANGUAGE = "language", _("Language")
    TEXT_CONTAINS = "text_contains", _("Text contains one of")
    TEXT_MATCHES = "text_matches", _("Text matches the regular expression")
    SENTIMENT = "sentiment", _("Sentiment")
    INTENT = "intent", _("Intent")
    TOXICITY_AT_LEAST = "toxicity_at_least", _("Toxicity at least")
    FIRST_TIME_AUTHOR = "first_time_author", _("First message of the author")
    AUTHOR_HIDDEN_AT_LEAST = "author_hidden_at_least", _("Author already hidden at least")
    CONVERSATION_STATUS = "conversation_status", _("Conversation status")
    PERSONA = "persona", _("Author is in the persona (name or number)")
    # A minimum score for one label, stored as {"label": …, "at_least": 0–1}; typed "negative 0.8".
    SENTIMENT_SCORE = "sentiment_score", _("Sentiment with a score of at least")
    INTENT_SCORE = "intent_score", _("Intent with a score of at least")
    # The post the message hangs under: its number, its id on the platform or its link.
    POST = "post", _("Under the post (number, id or link)")
    POST_TEXT_CONTAINS = "post_text_contains", _("The post's text contains one of")
    # Where the platform tells it (X, Mastodon); an unknown count never matches.
    AUTHOR_FOLLOWERS_AT_LEAST = "author_followers_at_least", _("Author has at least N followers")
    # yes: inside the workspace's business hours; no: outside (see rules.set_business_hours).
    IN_BUSINESS_HOURS = "in_business_hours", _("Inside business hours (yes or no)")


class RuleAction(models.TextChoices):
    TAG = "tag", _("Tag")
    ASSIGN = "assign", _("Assign to")
    PRIORITY = "priority", _("Set the priority")
    STATUS = "status", _("Set the status")
    MARK_SPAM = "mark_spam", _("Mark as spam")
    HIDE = "hide", _("Hide on the platform")
    DELETE = "delete", _("Delete on the platform")
    BAN = "ban", _("Ban the author")
    REPLY = "reply", _("Reply")
    # The value names the saved reply: its shortcut or its id.
    SAVED_REPLY = "saved_reply", _("Reply with a saved reply")
    UNHIDE = "unhide", _("Unhide on the platform")
    # The value names the team: its name or its number.
    ASSIGN_TEAM = "assign_team", _("Assign to the team")
    # The value names members (number or username) and roles (owner, admin, manager…).
    NOTIFY = "notify", _("Notify members or roles")
    # The value names one of the workspace's outgoing webhooks (its number or name).
    WEBHOOK = "webhook", _("Send to the outgoing webhook")


class SuggestionState(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    ACCEPTED = "accepted", _("Accepted")
    DISMISSED = "dismissed", _("Dismissed")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


SENTIMENT_COLOURS = {
    Sentiment.POSITIVE: "green",
    Sentiment.NEUTRAL: "grey",
    Sentiment.NEGATIVE: "red",
}


class Intent(models.TextChoices):
    QUESTION = "question", _("Question")
    COMPLAINT = "complaint", _("Complaint")
    PRAISE = "praise", _("Praise")
    REQUEST = "request", _("Request")
    SPAM = "spam", _("Spam")
    OTHER = "other", _("Other")


INTENT_COLOURS = {
    Intent.QUESTION: "blue",
    Intent.COMPLAINT: "red",
    Intent.PRAISE: "green",
    Intent.REQUEST: "amber",
    Intent.SPAM: "grey",
    Intent.OTHER: "grey",
}


class Toxicity(models.TextChoices):
    INSULT = "insult", _("Insult")
    HATE = "hate", _("Hate")
    THREAT = "threat", _("Threat")
    OBSCENE = "obscene", _("Obscene")


class CrisisSignal(models.TextChoices):
    """What rose above its baseline (see moderation/crisis.py)."""

    VOLUME = "volume", _("Volume")
    NEGATIVE = "negative", _("Negative share")
