"""The kind of community: Cercle proposes goals, SLA targets, rules and saved replies; the team
edits them and creates the ones it keeps through the apps' actions."""

from cercle.insights.community import PROPOSALS, CommunityType
from cercle.insights.models import CommunityProfile, Goal
from cercle.moderation.models import Rule
from cercle.replies.models import SavedReply
from cercle.workflow.models import SlaPolicy
from cercle.workspaces.models import Activity


def test_every_kind_proposes_goals_targets_rules_and_replies_in_french_and_english():
    assert set(PROPOSALS) == set(CommunityType.values)
    for offer in PROPOSALS.values():
        assert offer.goals and offer.slas and offer.rules and offer.replies
        assert all(set(reply.versions) == {"fr", "en"} for reply in offer.replies)


def test_the_team_edits_and_creates_what_it_keeps(client, owner, workspace):
    client.force_login(owner.user)
    page = client.get("/insights/community/", {"kind": "support"})
    assert page.status_code == 200 and b"goal-0-name" in page.content
    offer = PROPOSALS[CommunityType.SUPPORT]
    form = {
        "kind": "support",
        "goal-0": "1",
        "goal-0-name": "Nos questions en 1 h",
        "goal-0-target": "85",
    }
    form |= {
        "goal-1": "1",
        "sla-0": "1",
        "sla-0-minutes": "20",
        "rule-0": "1",
        "rule-0-mode": "live",
    }
    form |= {"reply-0": "1", "reply-0-fr": "Bonjour, nous regardons."}
    response = client.post("/insights/community/", form)
    assert response.status_code == 302
    assert CommunityProfile.objects.get(workspace=workspace).kind == "support"
    goals = dict(Goal.objects.filter(workspace=workspace).values_list("name", "target"))
    assert goals == {"Nos questions en 1 h": 85.0, str(offer.goals[1].name): offer.goals[1].target}
    policy = SlaPolicy.objects.get(workspace=workspace)
    assert (policy.first_response_minutes, policy.intent) == (20, "complaint")
    rule = Rule.objects.get(workspace=workspace)
    assert (rule.mode, rule.actions) == ("live", offer.rules[0].actions)
    reply = SavedReply.objects.get(workspace=workspace)
    versions = {v.language: v.text for v in reply.versions.all()}
    assert versions["fr"] == "Bonjour, nous regardons." and "looking into it" in versions["en"]
    assert Activity.objects.filter(workspace=workspace, data__setting="community_type").exists()


def test_an_agent_cannot_apply_a_template(client, agent, workspace):
    client.force_login(agent.user)
    response = client.post("/insights/community/", {"kind": "fans", "goal-0": "1"})
    assert response.status_code in {302, 403} and not Goal.objects.exists()
