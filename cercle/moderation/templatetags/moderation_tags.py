"""Template helpers of moderation: the label chips of a message, the crisis banner."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from cercle.inbox.models import Message
from cercle.moderation.choices import (
    INTENT_COLOURS,
    SENTIMENT_COLOURS,
    Intent,
    Sentiment,
    Toxicity,
)
from cercle.moderation.crisis import active_alerts

register = template.Library()


def _chip(kind: str, value: str, label: object, colour: str, score: float | None) -> dict[str, Any]:
    certainty = f" — {round(score * 100)} %" if score is not None else ""
    return {"kind": kind, "value": value, "label": label, "colour": colour, "title": certainty}


@register.inclusion_tag("moderation/_labels.html")
def message_labels(message: Message) -> dict[str, Any]:
    """Chips for what the classifiers said about an inbound message (nothing until they spoke)."""
    chips = []
    if message.toxicity_category in Toxicity.values:
        label = Toxicity(message.toxicity_category).label
        chips.append(_chip("toxicity", message.toxicity_category, label, "red", message.toxicity))
    if message.intent in Intent.values:
        intent = Intent(message.intent)
        chips.append(
            _chip("intent", intent, intent.label, INTENT_COLOURS[intent], message.intent_score)
        )
    if message.sentiment in Sentiment.values:
        sentiment = Sentiment(message.sentiment)
        chips.append(
            _chip(
                "sentiment",
                sentiment,
                sentiment.label,
                SENTIMENT_COLOURS[sentiment],
                message.sentiment_score,
            )
        )
    return {
        "chips": chips,
        "needs_reply": message.needs_reply,
        "model": message.classified_by,
        "legend": _("Labels set by Cercle's classifiers (certainty in the tooltip)"),
    }


@register.inclusion_tag("moderation/_crisis_banner.html")
def crisis_banner(workspace_id: int | None) -> dict[str, Any]:
    """The running crisis alerts of the workspace, on top of every page (one indexed query)."""
    if workspace_id is None:
        return {"alerts": []}
    return {"alerts": list(active_alerts(workspace_id)[:3])}
