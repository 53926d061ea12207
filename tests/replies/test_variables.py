"""Variables of saved replies: whitelisted plain-text substitution, missing values, unknown names."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cercle.inbox.models import Contact, Conversation, Post
from cercle.replies.actions import do_save_saved_reply
from cercle.replies.queries import fill
from cercle.replies.variables import render, values_for
from tests.conftest import sim_event

from .conftest import login, receive


def test_the_four_variables_are_filled_for_the_conversation(conversation, agent, welcome):
    filled = fill(welcome, conversation, agent)
    assert filled is not None
    assert filled.text == ("Bonjour Camille, ici Sam de Lumen forum. Voir https://example.com/p1")


def test_missing_values_render_empty_and_take_their_space_along(conversation, agent):
    Contact.objects.filter(pk=conversation.contact_id).update(display_name="")
    Post.objects.filter(pk=conversation.post_id).update(url="")
    conversation = Conversation.objects.select_related("contact", "post", "channel").get(
        pk=conversation.pk
    )
    values = values_for(conversation, agent)
    assert render("Bonjour {{ contact.first_name }}, voir {{ post.url }} !", values) == (
        "Bonjour, voir !"
    )


def test_an_automation_has_no_agent_name(conversation):
    values = values_for(conversation, None)
    assert render("Signé {{agent.first_name}}.", values) == "Signé."


def test_a_javascript_post_url_is_not_offered(conversation, agent):
    Post.objects.filter(pk=conversation.post_id).update(url="javascript:alert(1)")
    conversation = Conversation.objects.select_related("contact", "post", "channel").get(
        pk=conversation.pk
    )
    assert values_for(conversation, agent)["post.url"] == ""


def test_template_syntax_other_than_the_variables_stays_as_written():
    text = "{% load static %}{{ contact.first_name|upper }} {{ settings.SECRET_KEY }}"
    assert render(text, {"contact.first_name": "Camille"}) == text


def test_an_unknown_variable_is_refused_at_save_time(workspace, owner):
    with pytest.raises(ValidationError) as refused:
        do_save_saved_reply(
            owner,
            workspace,
            title="Oops",
            versions={"fr": "Bonjour {{ contact.prenom }}"},
        )
    assert "contact.prenom" in " ".join(refused.value.messages)


def test_the_settings_form_names_the_unknown_variable(client, owner):
    response = login(client, "lea").post(
        reverse("replies:new"),
        {"title": "Oops", "text_fr": "Bonjour {{ user.password }}", "text_en": ""},
    )
    assert response.status_code == 200 and "user.password" in response.content.decode()


def test_hostile_names_stay_inert_in_the_picker(client, owner, sim_channel, welcome):
    hostile = '<script>alert(1)</script>"'
    receive(
        sim_channel,
        sim_event("c9", author={"id": "u9", "name": hostile, "handle": "evil"}),
    )
    conversation = Conversation.objects.get(contact__display_name=hostile)
    response = login(client, "lea").get(reverse("replies:picker", args=[conversation.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in html
    # In the preview, and in the attribute the text is inserted from (as text, never as HTML).
    assert html.count("Bonjour &lt;script&gt;alert(1)&lt;/script&gt;&quot;,") == 2
