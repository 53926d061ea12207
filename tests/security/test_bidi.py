"""Bidi spoofing: "abc\u202egnp.exe" must not read "abcexe.png". Community text is escaped,
its control characters are replaced by visible marks, and it is isolated from what surrounds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from cercle.core.bidi import mark_controls, plain_controls
from cercle.inbox.models import Conversation
from tests.conftest import sim_event
from tests.inbox.test_views import receive

SPOOF = "abc\u202egnp.exe"
MARKED = 'abc<span class="ctl" title="RIGHT-TO-LEFT OVERRIDE">U+202E</span>gnp.exe'
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_a_right_to_left_override_is_replaced_by_a_visible_mark():
    assert mark_controls(SPOOF) == MARKED


def test_the_text_is_escaped_before_it_is_marked():
    shown = mark_controls('<img src=x onerror="alert(1)">\u202e</span><b>')
    assert shown == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
        '<span class="ctl" title="RIGHT-TO-LEFT OVERRIDE">U+202E</span>&lt;/span&gt;&lt;b&gt;'
    )


@pytest.mark.parametrize("char", [*BIDI_CONTROLS, "\x00", "\x1b", "\x7f", "\x85"])
def test_every_bidi_formatting_and_control_character_is_marked(char):
    shown = mark_controls(f"a{char}b")
    assert char not in shown and f"U+{ord(char):04X}" in shown


def test_what_scripts_and_emoji_need_is_left_alone():
    """Line breaks, tabs, Arabic with its right-to-left mark, an emoji joined by ZWJ."""
    text = "ligne 1\nligne\t2 · مرحبا\u200f بكم · 👩\u200d💻"
    assert mark_controls(text) == text


def test_a_page_title_gets_the_code_point_as_text():
    assert plain_controls(SPOOF) == "abc[U+202E]gnp.exe"


def test_the_filter_is_a_builtin_of_every_template():
    rendered = Template("<p>{{ name|untrusted }}</p>").render(Context({"name": SPOOF}))
    assert rendered == f"<p>{MARKED}</p>"


@pytest.fixture
def conversation_page(owner, sim_channel):
    receive(
        sim_channel,
        sim_event(
            "rlo1",
            text=f"Voir la pièce jointe {SPOOF}",
            author={"id": "u-rlo", "name": SPOOF, "handle": "h\u202eandle"},
        ),
    )
    conversation = Conversation.objects.get()
    client = Client()
    assert client.login(username="lea", password="correct horse battery")
    return client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()


def test_the_inbox_shows_no_raw_override_anywhere(conversation_page):
    assert "\u202e" not in conversation_page


def test_the_inbox_marks_it_in_the_list_the_title_the_author_and_the_text(conversation_page):
    assert f'<span class="who"><bdi>{MARKED}</bdi></span>' in conversation_page
    assert f'<h1 id="conv-title" class="h-contact">{MARKED}</h1>' in conversation_page
    assert f'<span class="author">{MARKED}</span>' in conversation_page
    assert f'<p class="text">Voir la pièce jointe {MARKED}</p>' in conversation_page
    assert "<title>abc[U+202E]gnp.exe · Inbox · Cercle</title>" in conversation_page


def test_the_classes_of_community_text_are_isolated_in_css():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "cercle.css").read_text()
    rule = re.search(r"\n([^{}\n]*\bbdi\b[^{}]*)\{\s*unicode-bidi:\s*isolate;", css)
    assert rule is not None
    selectors = {s.strip() for s in rule.group(1).split(",")}
    assert {"bdi", ".who", ".author", ".preview", ".item .text", ".h-contact", ".tag"} <= selectors
