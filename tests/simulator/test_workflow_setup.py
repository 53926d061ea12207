"""The demo's response targets and rules: set once, and the spam rule catches the community's spam only."""

import pytest

from cercle.inbox.models import Message
from cercle.moderation.models import Rule
from cercle.moderation.rules import Facts, fires
from cercle.simulator import phrases as P
from cercle.simulator.workflow_setup import configure_demo_workflow
from cercle.workflow.models import SlaPolicy


def test_configuring_twice_changes_nothing(owner, workspace):
    configure_demo_workflow(workspace, owner)
    configure_demo_workflow(workspace, owner)
    assert (SlaPolicy.objects.count(), Rule.objects.count()) == (3, 3)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_spam_rule_catches_spam_and_spares_questions(owner, workspace, language):
    configure_demo_workflow(workspace, owner)
    rule = Rule.objects.get(position=0)
    texts = P.CATEGORY_PHRASES[language] if hasattr(P, "CATEGORY_PHRASES") else None
    spam = [t for t in _category(language, "spam")]
    questions = [t for t in _category(language, "question")]
    caught = [fires(rule, Message(text=t, workspace_id=workspace.pk), Facts()) for t in spam]
    spared = [fires(rule, Message(text=t, workspace_id=workspace.pk), Facts()) for t in questions]
    assert texts is None or texts
    assert all(caught) and not any(spared)


def _category(language, category):
    for value in vars(P).values():
        if isinstance(value, dict) and language in value and isinstance(value[language], dict):
            phrases = value[language].get(category)
            if phrases:
                return phrases
    raise AssertionError(f"no {category} phrases for {language}")


def test_only_the_urgent_kinds_raise_the_priority_when_late(owner, workspace):
    """A late routine item stays normal (the live demo has nobody answering: raising every late
    item made most of the inbox high); bad reviews and private messages still rise."""
    configure_demo_workflow(workspace, owner)
    raising = dict(
        SlaPolicy.objects.filter(workspace=workspace).values_list("position", "raise_priority")
    )
    assert raising == {0: True, 1: True, 2: False}
