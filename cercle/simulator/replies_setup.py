"""The demo workspace's saved replies (in French and English) and its four-eyes policy.

Set once, kept on re-runs, through the real actions as the owner: the saved
replies page shows what a team would write, and Tom, the newest agent, has his
replies approved by a manager before they are sent (log in as `tom` to see a
reply wait, as `ines` to approve it).
"""

from __future__ import annotations

from cercle.replies.actions import do_save_approval_policy, do_save_saved_reply
from cercle.replies.models import ApprovalPolicy, SavedReply
from cercle.workspaces.models import Member, Workspace

# The member whose replies wait for approval.
HELD_MEMBER = "tom"

# title, shortcut, tags, French text, English text.
SAVED_REPLIES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    (
        "Suivi de commande",
        "commande",
        ("livraison",),
        "Bonjour {{ contact.first_name }}, merci pour votre message ! Pouvez-vous nous "
        "envoyer votre numéro de commande en message privé ? Nous regardons tout de suite.\n"
        "{{ agent.first_name }}, équipe Lumen",
        "Hi {{ contact.first_name }}, thanks for reaching out! Could you send us your order "
        "number in a private message? We will look into it right away.\n"
        "{{ agent.first_name }}, the Lumen team",
    ),
    (
        "Merci",
        "merci",
        ("remerciement",),
        "Merci beaucoup {{ contact.first_name }} ! Toute l'équipe est ravie que la lampe vous "
        "plaise.",
        "Thank you so much {{ contact.first_name }}! The whole team is glad you like the lamp.",
    ),
    (
        "Panne en cours",
        "panne",
        ("incident",),
        "Bonjour {{ contact.first_name }}, nous avons un incident en cours et nos équipes sont "
        "dessus. Nous donnons des nouvelles ici : {{ post.url }}\n{{ agent.first_name }}",
        "Hi {{ contact.first_name }}, we have an ongoing incident and our teams are on it. "
        "We post updates here: {{ post.url }}\n{{ agent.first_name }}",
    ),
    (
        "Retour produit",
        "retour",
        ("retour", "sav"),
        "Bonjour {{ contact.first_name }}, vous pouvez nous retourner la lampe sous 30 jours. "
        "Écrivez-nous en privé sur {{ channel.name }} et nous vous envoyons l'étiquette.",
        "Hi {{ contact.first_name }}, you can return the lamp within 30 days. Write to us "
        "privately on {{ channel.name }} and we will send you the label.",
    ),
)


def configure_demo_replies(workspace: Workspace, owner: Member) -> None:
    """Four saved replies in FR and EN, and Tom's replies held for approval."""
    existing = set(SavedReply.objects.filter(workspace=workspace).values_list("title", flat=True))
    for title, shortcut, tags, french, english in SAVED_REPLIES:
        if title in existing:
            continue
        do_save_saved_reply(
            owner,
            workspace,
            title=title,
            shortcut=shortcut,
            tags=tags,
            versions={"fr": french, "en": english},
        )
    held = Member.objects.filter(workspace=workspace, user__username=HELD_MEMBER).first()
    if held is not None and not ApprovalPolicy.objects.filter(workspace=workspace).exists():
        do_save_approval_policy(owner, workspace, members=[held])
