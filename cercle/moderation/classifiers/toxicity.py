"""Toxicity with a category (insult, hate, threat, obscene), EN and FR, by rules: safetype.

safetype (1.14) ships hand-written EN and FR rule packs (profanity, hate,
harassment, sexual) with a normaliser that sees through leetspeak, accents and
spaced letters. Rules are predictable, explainable ("matched: vous êtes nuls")
and cost microseconds, which matters more here than a few points of recall; a
learnt head can take over per workspace later (learning from corrections).

Cercle adds a few rules the packs lack (plural insults aimed at the brand, "bande
de…"): `CERCLE_RULES` below. The score is the strongest match's confidence, in
0–1; the label is "toxic" or "clean", and the category comes with it.
"""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version as package_version
from typing import Any, ClassVar

from .base import Batch, Classifier, Prediction

CATEGORIES = ("insult", "hate", "threat", "obscene")
# safetype's category (and, for harassment, its rule id) → Cercle's category.
_THREATS = ("threat", "self-harm", "go-die", "kys")
RULES_VERSION = "cercle-rules-1"

# Rules in safetype's pattern language: words separated by spaces, alternatives in
# parentheses, `*` for any ending, `?` for optional; matched on normalised text (no accents).
CERCLE_RULES: list[dict[str, Any]] = [
    {
        "id": "cercle.en.insult-plural",
        "pattern": "(you|u|yall) (are|re|r)? (all|such|so|complete|total|bloody|fucking)? "
        "(idiots|morons|clowns|losers|incompetent|useless|thieves|crooks|scammers|liars|pathetic|jokers)",
        "category": "harassment",
        "severity": "medium",
        "confidence": 0.8,
    },
    {
        "id": "cercle.fr.insult-plural",
        "pattern": "(vous|vs) (etes|etez|ete) (tous|vraiment|trop|des|une|bande)? (de|des)? "
        "(nuls|nulles|idiots|incompetents|cons|connards|minables|escrocs|voleurs|clowns|guignols|"
        "bouffons|menteurs|pathetiques|rigolos|branquignols|incapables)",
        "category": "harassment",
        "severity": "medium",
        "confidence": 0.8,
    },
    {
        "id": "cercle.fr.bande-de",
        "pattern": "bande (de|d) (nuls|idiots|cons|connards|incapables|escrocs|voleurs|guignols|"
        "bouffons|rigolos|branquignols|incompetents|abrutis|tocards)",
        "category": "harassment",
        "severity": "medium",
        "confidence": 0.8,
    },
    {
        "id": "cercle.en.bunch-of",
        "pattern": "bunch of (idiots|morons|clowns|losers|crooks|thieves|scammers|liars|jokers|incompetents)",
        "category": "harassment",
        "severity": "medium",
        "confidence": 0.8,
    },
]


def _category(match: Any) -> str:
    if match.category == "hate":
        return "hate"
    if match.category in ("profanity", "sexual"):
        return "obscene"
    if any(word in match.rule_id for word in _THREATS):
        return "threat"
    return "insult"


class RuleToxicity(Classifier):
    """safetype's EN and FR packs plus Cercle's rules; label "toxic" with a category, or "clean"."""

    task: ClassVar[str] = "toxicity"
    labels: ClassVar[tuple[str, ...]] = ("clean", *CATEGORIES)

    @cached_property
    def _engine(self) -> Any:
        from safetype import create_moderation_engine

        # Both packs for every message: short texts are often mixed or misdetected,
        # and an English insult in a French thread is still an insult.
        return create_moderation_engine(mode="mask", languages=["en", "fr"], rules=CERCLE_RULES)

    @property
    def version(self) -> str:
        return f"safetype-{package_version('safetype')}+{RULES_VERSION}"

    def classify(self, batch: Batch) -> list[Prediction]:
        version = self.version
        out = []
        for text in batch.texts:
            matches = self._engine.moderate(text[:4000]).matches if text else []
            if not matches:
                out.append(Prediction("clean", 1.0, version))
                continue
            strongest = max(matches, key=lambda m: (m.confidence, m.priority))
            out.append(Prediction(_category(strongest), float(strongest.confidence), version))
        return out
