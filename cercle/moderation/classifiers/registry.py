"""Which embedder and classifiers run: dotted paths in settings, loaded once per process.

    CERCLE_EMBEDDER = "cercle.moderation.classifiers.embedders.E5Embedder"
    CERCLE_CLASSIFIERS = [".....SentimentHead", ".....IntentHead", ".....RuleToxicity", ".....NeedsReply"]
    CERCLE_MODEL_DIR = "/srv/cercle-models"   # optional: heads (<task>.npz) that replace the shipped ones
    CERCLE_LANGUAGE_DETECTOR = "cercle.moderation.language.FastTextLanguage"   # inline, at ingest

An operator who has a larger model (ONNX, transformers…) downloaded elsewhere
writes an `Embedder` or a `Classifier` subclass for it, anywhere on the Python
path, and names it here: no change to Cercle. docs/classifiers.md says how.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Classifier, Embedder


@cache
def model_dir() -> Path | None:
    """The operator's model directory, if one is set."""
    value = getattr(settings, "CERCLE_MODEL_DIR", "")
    return Path(value) if value else None


@cache
def embedder() -> Embedder:
    """The process-wide embedder (loaded on first use: the web process never pays for it)."""
    cls: type[Embedder] = import_string(settings.CERCLE_EMBEDDER)
    return cls()


@cache
def classifiers() -> tuple[Classifier, ...]:
    """The configured classifiers, in settings order (later ones may read earlier predictions)."""
    return tuple(import_string(path)() for path in settings.CERCLE_CLASSIFIERS)


@cache
def language_detector() -> Classifier:
    """The language detector (task "language"), run inline at ingest on every new message."""
    detector: Classifier = import_string(settings.CERCLE_LANGUAGE_DETECTOR)()
    return detector


def reset() -> None:
    """Forget loaded models (tests that change the settings)."""
    model_dir.cache_clear()
    language_detector.cache_clear()
    embedder.cache_clear()
    classifiers.cache_clear()
