"""The demo team: several languages and skills, automatic assignment on, set once."""

from cercle.simulator.demo import OWNER, setup_workspace
from cercle.simulator.workflow_setup import configure_demo_routing
from cercle.workflow.models import RoutingSettings
from cercle.workspaces.models import Member


def test_the_demo_team_speaks_several_languages_and_assignment_is_on(db):
    workspace = setup_workspace("a long demo password")
    owner = Member.objects.get(workspace=workspace, user__username=OWNER)
    configure_demo_routing(workspace, owner)
    configure_demo_routing(workspace, owner)  # a re-run changes nothing
    routing = RoutingSettings.objects.get(workspace=workspace)
    assert (routing.auto_assign, routing.kind_skills) == (True, {"review": ["reviews"]})
    members = Member.objects.filter(workspace=workspace)
    spoken = {code for m in members for code in m.languages}
    skills = {skill for m in members for skill in m.skills}
    assert {"fr", "en", "de"} <= spoken
    assert {"billing", "shipping", "moderation", "reviews"} <= skills
    assert {m.availability for m in members} == {"online", "away", "off"}
    # A second setup keeps what the members changed since.
    lea = members.get(user__username="lea")
    Member.objects.filter(pk=lea.pk).update(languages=["es"])
    setup_workspace("a long demo password")
    assert Member.objects.get(pk=lea.pk).languages == ["es"]
