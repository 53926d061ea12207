"""The demo's saved replies (FR and EN, with variables) and its member whose replies need approval."""

from cercle.inbox.models import Conversation, Outbox
from cercle.replies.actions import do_submit_reply
from cercle.replies.models import PendingReply, SavedReply
from cercle.replies.variables import unknown_variables, variables_in
from cercle.simulator.replies_setup import configure_demo_replies
from cercle.workspaces.actions import do_add_member, do_create_user
from cercle.workspaces.choices import Role
from tests.conftest import sim_event
from tests.replies.conftest import receive


def test_saved_replies_in_french_and_english_with_variables(owner, workspace):
    configure_demo_replies(workspace, owner)
    configure_demo_replies(workspace, owner)
    replies = list(SavedReply.objects.filter(workspace=workspace).prefetch_related("versions"))
    assert len(replies) == 4
    for reply in replies:
        versions = {v.language: v.text for v in reply.versions.all()}
        assert set(versions) == {"fr", "en"}
        assert all(variables_in(t) and not unknown_variables(t) for t in versions.values())


def test_toms_replies_wait_for_approval(owner, workspace, sim_channel):
    tom = do_add_member(workspace, do_create_user("tom", "correct horse battery"), Role.AGENT)
    configure_demo_replies(workspace, owner)
    receive(sim_channel, sim_event("c1"))
    conversation = Conversation.objects.get(channel=sim_channel)
    assert isinstance(do_submit_reply(tom, conversation, "Bonjour"), PendingReply)
    assert not Outbox.objects.exists()
