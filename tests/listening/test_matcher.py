"""The query matcher: all of / any of / none of, case and accents, hashtags, languages; dedupe keys."""

from cercle.connectors.base import SearchTerms
from cercle.listening.dedupe import key_of, normalise_url
from cercle.listening.matcher import Query, fold, matches, parse_terms


def test_all_of_needs_every_term():
    q = Query(all_of=("lumen", "lampe"))
    assert matches(q, "Ma lampe Lumen est arrivée")
    assert not matches(q, "Ma Lumen est arrivée")


def test_any_of_needs_one_term_and_none_of_excludes():
    q = Query(any_of=("lumen", "maison lumen"), none_of=("job", "recrute"))
    assert matches(q, "J'adore Maison Lumen")
    assert not matches(q, "Maison Lumen recrute un stagiaire")
    assert not matches(q, "rien à voir")


def test_case_and_accents_are_ignored_both_ways():
    assert fold("Crème  BRÛLÉE") == "creme brulee"
    assert matches(Query(all_of=("crème brûlée",)), "la CREME brulee de Lumen")
    assert matches(Query(all_of=("creme",)), "Une crème")


def test_whole_words_only_and_hashtags():
    assert not matches(Query(all_of=("lumen",)), "lumenville est loin")
    assert matches(Query(all_of=("lumen",)), "vive #Lumen !")
    assert matches(Query(all_of=("#lumen",)), "vive #lumen")
    assert not matches(Query(all_of=("#lumen",)), "vive lumen")
    assert not matches(Query(all_of=("#lumen",)), "vive ##lumenx")


def test_languages_filter_only_known_languages():
    q = Query(all_of=("lumen",), languages=("fr",))
    assert matches(q, "lumen", "fr")
    assert not matches(q, "lumen", "en")
    assert matches(q, "lumen", "")  # unknown language: kept


def test_an_empty_query_matches_nothing():
    assert not matches(Query(none_of=("spam",)), "anything")
    assert not matches(Query(all_of=(" ",)), "anything")


def test_the_terms_asked_of_the_platforms_are_trimmed():
    query = Query(all_of=(" lumen ", ""), any_of=("lampe", " "), languages=("fr",))
    assert query.terms() == SearchTerms(all_of=("lumen",), any_of=("lampe",), languages=("fr",))


def test_parse_terms_splits_trims_and_drops_repeats():
    assert parse_terms("Lumen, lumen\n #lumen ,  maison   lumen,") == [
        "Lumen",
        "#lumen",
        "maison lumen",
    ]


def test_dedupe_key_normalises_urls_and_falls_back_to_platform_id():
    a = key_of("reddit", "t3_1", "https://www.reddit.com/r/x/comments/1/t/?utm_source=share#c")
    b = key_of("reddit", "t3_1", "https://old.reddit.com/r/x/comments/1/t")
    assert a == b == "reddit.com/r/x/comments/1/t"
    assert key_of("mastodon", "42", "") == "mastodon:42"
    assert key_of("mastodon", "42", "javascript:alert(1)") == "mastodon:42"
    assert normalise_url("https://Example.COM:8443/a/?b=1&utm_medium=x") == "example.com:8443/a?b=1"
