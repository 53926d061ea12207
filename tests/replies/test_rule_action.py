"""The rule action "reply with a saved reply": filled for the conversation, in its language, counted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cercle.inbox.models import Outbox
from cercle.moderation.actions import do_save_rule
from cercle.moderation.choices import RuleMode
from cercle.replies.actions import do_save_approval_policy
from cercle.workspaces.choices import Role
from tests.conftest import sim_event

from .conftest import receive

QUESTION = [{"field": "text_contains", "value": ["commande"]}]


def test_a_live_rule_replies_with_the_saved_reply_filled(owner, workspace, sim_channel, welcome):
    # Agents are held for approval: a rule is not (it was set up by someone who may).
    do_save_approval_policy(owner, workspace, roles=[Role.AGENT])
    do_save_rule(
        owner,
        workspace,
        name="Greet",
        conditions=QUESTION,
        actions=[{"type": "saved_reply", "value": "/welcome"}],
        mode=RuleMode.LIVE,
    )
    receive(sim_channel, sim_event("c1", text="Ma commande est en retard"))
    [outbox] = Outbox.objects.all()
    assert outbox.payload["kind"] == "reply"
    assert outbox.payload["text"].startswith("Bonjour Camille, ici de Lumen forum.")
    welcome.refresh_from_db()
    assert welcome.usage_count == 1


def test_a_rule_naming_an_unknown_saved_reply_is_refused(owner, workspace, welcome):
    with pytest.raises(ValidationError):
        do_save_rule(
            owner,
            workspace,
            name="Greet",
            conditions=QUESTION,
            actions=[{"type": "saved_reply", "value": "nope"}],
            mode=RuleMode.LIVE,
        )
