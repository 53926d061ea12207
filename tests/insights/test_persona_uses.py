"""Personas used below insights: a rule condition, a routing preference, saved replies offered
first; through the inbox's registry (`inbox.segments`) that insights/apps.py fills."""

from datetime import UTC, datetime

import pytest

from cercle.core import clock
from cercle.inbox.actions import do_tag_conversation
from cercle.inbox.segments import persona_ids, personas_of
from cercle.insights.actions import do_save_persona
from cercle.moderation.actions import do_save_rule
from cercle.replies.actions import do_save_saved_reply
from cercle.replies.queries import picker_results
from cercle.workflow.assign import Routing
from tests.insights.test_metrics import receive_at

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def vip(owner, workspace, sim_channel):
    """A persona "VIP": the contacts with a conversation tagged vip; Ada is one, Bob is not."""
    persona = do_save_persona(
        owner,
        workspace,
        name="VIP",
        description="Nos meilleurs clients",
        conditions=[{"kind": "tag", "values": ["vip"]}],
    )
    ada = receive_at(sim_channel, "a1", NOW, "ada")
    do_tag_conversation(owner, ada, "vip")
    bob = receive_at(sim_channel, "b1", NOW, "bob")
    return persona, ada, bob


def test_the_registry_tells_who_is_in_which_persona(workspace, vip):
    persona, ada, bob = vip
    with clock.at(NOW):
        found = personas_of(workspace.pk, [ada.contact_id, bob.contact_id])
    assert found == {ada.contact_id: frozenset({persona.pk})}
    assert persona_ids(workspace.pk, ["vip"]) == persona_ids(workspace.pk, [str(persona.pk)])


def test_a_rule_condition_on_the_author_persona(owner, workspace, sim_channel, vip):
    _persona, ada, bob = vip
    do_save_rule(
        owner,
        workspace,
        name="VIP first",
        conditions=[{"field": "persona", "value": ["VIP"]}],
        actions=[{"type": "tag", "value": "vip-seen"}],
        mode="live",
    )
    again = receive_at(sim_channel, "a2", NOW, "ada", text="Encore moi")
    other = receive_at(sim_channel, "b2", NOW, "bob", text="Et moi ?")
    assert again.pk == ada.pk and other.pk == bob.pk
    assert set(ada.tags.values_list("name", flat=True)) == {"vip", "vip-seen"}
    assert not bob.tags.filter(name="vip-seen").exists()


def test_routing_asks_the_persona_skills(workspace, vip):
    _persona, ada, bob = vip
    routing = Routing(
        workspace_id=workspace.pk,
        auto_assign=True,
        kind_skills={"persona:VIP": frozenset({"key-accounts"})},
        channels={},
        candidates=[],
        stamp=NOW,
    )
    assert routing.needs(ada) == frozenset({"key-accounts"})
    assert routing.needs(bob) == frozenset()


def test_saved_replies_for_the_persona_come_first(owner, workspace, vip):
    _persona, ada, bob = vip
    for title, tags in (("A merci", []), ("Z pour nos VIP", ["persona:VIP"])):
        do_save_saved_reply(owner, workspace, title=title, versions={"fr": title}, tags=tags)
    assert [f.saved_reply.title for f in picker_results(owner, ada, "")] == [
        "Z pour nos VIP",
        "A merci",
    ]
    assert [f.saved_reply.title for f in picker_results(owner, bob, "")] == [
        "A merci",
        "Z pour nos VIP",
    ]
