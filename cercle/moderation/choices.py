"""The labels of the classification stage, with their colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
