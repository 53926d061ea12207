"""Language detection: only plausible languages, only when confident, otherwise unknown."""

from __future__ import annotations

from cercle.inbox.models import Message
from cercle.moderation.classifiers.base import Batch, Classifier, Prediction
from cercle.moderation.classify import classify_messages
from cercle.moderation.language import detect_language, detect_languages


def test_a_short_english_text_is_not_tagged_esperanto():
    # lid.176 alone answers "eo" at 0.85 for this one.
    assert detect_language("love Mia") != "eo"


def test_an_implausible_language_is_never_answered(settings):
    settings.CERCLE_LANGUAGES = ["fr", "en"]
    assert detect_language("Wo ist mein Paket? Es ist seit zwei Wochen unterwegs.") == ""


def test_an_unsure_guess_is_unknown():
    # The model's best guess for this is English at 0.12.
    assert detect_language("Thanks!") == ""


def test_a_clear_text_still_gets_its_language():
    assert detect_languages(["Where is my parcel?", "Ma commande n'est jamais arrivée"]) == [
        "en",
        "fr",
    ]


def test_the_workspaces_language_is_plausible_even_when_not_configured(settings):
    settings.CERCLE_LANGUAGES = ["fr"]
    assert detect_language("Where is my parcel?", ["en"]) == "en"


def test_the_pipeline_uses_the_workspaces_language(settings, workspace):
    settings.CERCLE_LANGUAGES = ["fr"]
    workspace.language = "nl"
    workspace.save(update_fields=["language"])
    message = Message(workspace=workspace, text="Hoi, waar is mijn pakket?")
    classify_messages([message])
    assert message.language == "nl"


def test_the_workspaces_language_wins_when_the_model_hesitates():
    # lid.176 hesitates on these few words (English 0.39, French 0.38).
    text = "les plans de relance."
    assert detect_language(text) == "en"
    assert detect_language(text, ["fr"]) == "fr"
    # A clear text keeps its language whatever the workspace speaks.
    assert detect_language("Where is my parcel? It never arrived.", ["fr"]) == "en"


def test_the_detector_sits_behind_the_classifier_interface_with_the_workspace_as_hint():
    from cercle.moderation.classifiers.base import Batch
    from cercle.moderation.language import MODEL_VERSION, FastTextLanguage, detect_language_scored

    texts = ["les plans de relance.", "les plans de relance.", "👍"]
    predictions = FastTextLanguage().classify(Batch(texts, ["fr", "", ""]))
    expected = [
        detect_language_scored(texts[0], ["fr"]),
        detect_language_scored(texts[1]),
        detect_language_scored(texts[2]),
    ]
    assert [(p.label, p.score, p.model) for p in predictions] == [
        (found.language, found.score or 0.0, MODEL_VERSION) for found in expected
    ]
    assert [p.label for p in predictions] == ["fr", "en", ""]


class BretonEverywhere(Classifier):
    """An operator's detector, for the test below: everything is Breton, half sure."""

    task = "language"
    labels = ("br",)

    @property
    def version(self) -> str:
        return "breton-test-1"

    def classify(self, batch: Batch) -> list[Prediction]:
        return [Prediction("br", 0.5, self.version) for _ in batch.texts]


def test_an_operators_detector_replaces_the_default_by_a_setting(settings, workspace):
    from cercle.moderation.classifiers import registry

    settings.CERCLE_LANGUAGE_DETECTOR = f"{__name__}.BretonEverywhere"
    registry.reset()
    try:
        message = Message(workspace=workspace, text="Where is my parcel?")
        classify_messages([message])
    finally:
        registry.reset()
    assert (message.language, message.language_score, message.classified_by) == (
        "br",
        0.5,
        "language=breton-test-1",
    )
