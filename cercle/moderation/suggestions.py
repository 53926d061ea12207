"""Reply suggestions: the messages the team already answered that are nearest to this one.

Every inbound message the classify drain labelled keeps its embedding
(`MessageVector`). For a workspace, the answered ones (an inbound message
followed, in its conversation, by a reply of the team) form one matrix, built
once per process and rebuilt when the workspace has a new vector or a new reply
(checked at most every FRESH_SECONDS): a lookup is then one matrix-vector product
and two primary-key reads (bench/suggestions.py measures it at 10,000 answered
messages). A process keeps the matrices of at most `CERCLE_SUGGESTION_INDEXES`
workspaces (least recently used dropped first), so a web process serving many
workspaces does not grow without bound. Nothing leaves the workspace: the
matrix, the query and the answers are all read with its id.

Saved replies are ranked for the message by the words they share with it and
with the answers of its nearest neighbours (which are often that saved reply,
filled in): the web process never loads the embedder.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string

from cercle.inbox.choices import Direction
from cercle.inbox.models import Contact, Message

from . import crisis
from .models import MessageVector

# Neighbours shown, and how similar (cosine of e5 vectors) one must be to be shown at all:
# e5's cosines are high even for unrelated texts (~0.75), near questions score ~0.85+.
NEIGHBOURS = 3
MIN_SIMILARITY = 0.84
# Saved replies shown, best first.
SAVED_REPLIES = 3
# How long a process trusts a workspace's index before checking it for new vectors or replies.
FRESH_SECONDS = 30.0


@dataclass(frozen=True)
class Answered:
    """A message the team answered, how near it is to the one being answered, and the answer."""

    message: Message
    answer: Message
    similarity: float


@dataclass
class Index:
    """The answered messages of one workspace: their vectors, and who answered them how."""

    signature: tuple[int, int]
    checked_at: float
    vectors: npt.NDArray[np.float32]  # [n, dim], L2-normalised
    message_ids: npt.NDArray[np.int64]
    conversation_ids: npt.NDArray[np.int64]
    answer_ids: npt.NDArray[np.int64]


# Workspace id -> index, least recently used first (bounded by `max_indexes()`).
_indexes: OrderedDict[int, Index] = OrderedDict()
_lock = threading.Lock()


def embedder_version() -> str:
    """The configured embedder's version, read from its class (the embedder is not loaded)."""
    version: str = import_string(settings.CERCLE_EMBEDDER).version
    return version


def _signature(workspace_id: int) -> tuple[int, int]:
    """Changes whenever the workspace gets a new vector or a new reply."""
    vectors = MessageVector.objects.filter(
        workspace_id=workspace_id, model=embedder_version()
    ).aggregate(m=Max("message_id"))
    replies = Message.objects.filter(
        workspace_id=workspace_id, direction=Direction.OUTBOUND
    ).aggregate(m=Max("id"))
    return (vectors["m"] or 0, replies["m"] or 0)


def build_index(workspace_id: int, signature: tuple[int, int]) -> Index:
    """Read the workspace's vectors and match each message with the team's next reply."""
    rows = list(
        MessageVector.objects.filter(workspace_id=workspace_id, model=embedder_version())
        .order_by("message_id")
        .annotate(at=Coalesce("message__sent_at", "message__created_at"))
        .values_list("message_id", "message__conversation_id", "at", "vector")
    )
    replies: dict[int, list[tuple[datetime, int]]] = {}
    for conversation_id, sent_at, pk in (
        Message.objects.filter(
            workspace_id=workspace_id,
            direction=Direction.OUTBOUND,
            deleted_at__isnull=True,
        )
        .exclude(text="")
        .annotate(at=Coalesce("sent_at", "created_at"))
        .order_by("at", "id")
        .values_list("conversation_id", "at", "id")
    ):
        replies.setdefault(conversation_id, []).append((sent_at, pk))
    kept: list[tuple[int, int, int, bytes]] = []
    for message_id, conversation_id, sent_at, vector in rows:
        answer = next(
            (pk for at, pk in replies.get(conversation_id, []) if at > sent_at),
            None,
        )
        if answer is not None:
            kept.append((message_id, conversation_id, answer, bytes(vector)))
    if kept:
        vectors = np.frombuffer(b"".join(k[3] for k in kept), dtype=np.float32).reshape(
            len(kept), -1
        )
    else:
        vectors = np.zeros((0, 0), dtype=np.float32)
    return Index(
        signature=signature,
        checked_at=time.monotonic(),
        vectors=vectors,
        message_ids=np.array([k[0] for k in kept], dtype=np.int64),
        conversation_ids=np.array([k[1] for k in kept], dtype=np.int64),
        answer_ids=np.array([k[2] for k in kept], dtype=np.int64),
    )


def max_indexes() -> int:
    """How many workspaces' indexes one process keeps (`CERCLE_SUGGESTION_INDEXES`, at least 1)."""
    return max(1, int(getattr(settings, "CERCLE_SUGGESTION_INDEXES", 32)))


def index_for(workspace_id: int, fresh_seconds: float = FRESH_SECONDS) -> Index:
    """The workspace's index, checked every `fresh_seconds`, rebuilt when its signature changed.

    The process keeps the `max_indexes()` most recently used indexes; an older
    one is dropped, and rebuilt from the database if its workspace asks again.
    """
    with _lock:
        index = _indexes.get(workspace_id)
        if index is not None:
            _indexes.move_to_end(workspace_id)
            if time.monotonic() - index.checked_at < fresh_seconds:
                return index
        signature = _signature(workspace_id)
        if index is None or index.signature != signature:
            index = build_index(workspace_id, signature)
            _indexes[workspace_id] = index
            limit = max_indexes()
            while len(_indexes) > limit:
                _indexes.popitem(last=False)
        index.checked_at = time.monotonic()
    return index


def cached_workspaces() -> list[int]:
    """The workspaces whose index this process holds, least recently used first."""
    with _lock:
        return list(_indexes)


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def forget() -> None:
    """Drop every index of this process (tests, whose workspace ids are reused)."""
    with _lock:
        _indexes.clear()


def nearest(
    index: Index, query: npt.NDArray[np.float32], exclude_conversation: int, k: int
) -> list[tuple[int, int, float]]:
    """(message id, answer id, similarity) of the k nearest, best first, above MIN_SIMILARITY."""
    if not len(index.message_ids) or index.vectors.shape[1] != query.shape[0]:
        return []
    # One BLAS thread: a web process serves other requests on the other cores.
    with _blas().limit(limits=1, user_api="blas"):
        scores = index.vectors @ query
    scores[index.conversation_ids == exclude_conversation] = -1.0
    count = min(k, len(scores))
    top = np.argpartition(-scores, count - 1)[:count]
    top = top[np.argsort(-scores[top])]
    return [
        (int(index.message_ids[i]), int(index.answer_ids[i]), float(scores[i]))
        for i in top
        if scores[i] >= MIN_SIMILARITY
    ]


def similar_answered(message: Message, k: int = NEIGHBOURS) -> list[Answered]:
    """The messages of `message`'s workspace nearest to it that the team answered, with the answer.

    Empty until the message has its embedding (the classify drain stores it a
    moment after the message arrives).
    """
    stored = (
        MessageVector.objects.filter(
            message_id=message.pk, workspace_id=message.workspace_id, model=embedder_version()
        )
        .values_list("vector", flat=True)
        .first()
    )
    if stored is None:
        return []
    query = np.frombuffer(bytes(stored), dtype=np.float32)
    found = nearest(index_for(message.workspace_id), query, message.conversation_id, k)
    if not found:
        return []
    ids = {m for m, _, _ in found} | {a for _, a, _ in found}
    by_id = Message.objects.filter(workspace_id=message.workspace_id).in_bulk(list(ids))
    return [
        Answered(by_id[m], by_id[a], round(score, 3))
        for m, a, score in found
        if m in by_id and a in by_id
    ]


# --- saved replies ranked by relevance -------------------------------------------------------

_WORD = re.compile(r"\w{3,}")
# Words too common in FR and EN support messages to say what one is about: the crisis alert's
# stop words (accents folded, as `words` folds them) and the greetings and thanks of a message.
_COMMON = frozenset(
    "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
    for w in crisis.STOPWORDS
) | frozenset(["bonjour", "hello", "merci", "thanks", "thank", "please", "svp"])


def words(text: str) -> Counter[str]:
    """Lower-cased, accent-free words of 3 letters or more, without the commonest ones."""
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return Counter(w for w in _WORD.findall(plain) if w not in _COMMON and not w.isdigit())


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[word] for word, count in a.items() if word in b)
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def rank_by_relevance(
    message_text: str, neighbour_answers: list[str], candidates: list[tuple[int, str]]
) -> list[tuple[int, float]]:
    """(candidate id, relevance) of saved replies, best first; those sharing no word are left out.

    Relevance is the word cosine with the message, plus half the cosine with the
    answers the team gave to the nearest similar messages.
    """
    asked = words(message_text)
    answered = words(" ".join(neighbour_answers))
    ranked = []
    for pk, text in candidates:
        own = words(text)
        score = _cosine(asked, own) + 0.5 * _cosine(answered, own)
        if score > 0:
            ranked.append((pk, round(score, 4)))
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked


# --- an earlier answer, addressed to the person being answered now ---------------------------


def readdress(answer: str, earlier: Contact | None, current: Contact | None) -> str:
    """`answer` with the earlier contact's name (full, then first name) put to the current one's.

    An answer borrowed from a similar conversation greets its own author ("Bonjour
    Antoine,"); inserted as it is, it would greet the wrong person. Only the greeting
    (the answer's first sentence) is changed, whole words only, in any case, so a
    name that is also a word ("Lumen", "SAV") further on stays; a name of one
    letter, or the same name, is left alone.
    """
    if earlier is None or current is None:
        return answer
    names: dict[str, str] = {}
    for old, new in (
        (earlier.display_name, current.display_name),
        (earlier.first_name, current.first_name),
    ):
        old, new = old.strip(), new.strip()
        if len(old) >= 2 and new and old.casefold() != new.casefold():
            names.setdefault(old.casefold(), new)
    if not names:
        return answer
    # One pass, longest name first: a replacement is never replaced again.
    alternatives = "|".join(re.escape(old) for old in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    end = _SENTENCE_END.search(answer)
    cut = end.end() if end else len(answer)
    greeting = pattern.sub(lambda found: names[found.group(0).casefold()], answer[:cut])
    return greeting + answer[cut:]


_SENTENCE_END = re.compile(r"[.!?\n]")
