"""Community text shown as what it is: escaped, with its invisible control characters marked.

A right-to-left override (U+202E) makes "abc\u202egnp.exe" read "abcexe.png"; other
bidi embeddings, overrides and isolates reorder text the same way, and C0/C1
control characters hide in plain sight. The `untrusted` filter (a template
builtin, see settings.TEMPLATES) escapes the text first, then replaces each such
character by a visible, marked `<span class="ctl">U+202E</span>` naming it, so
the character no longer acts and the reader sees it was there. CSS isolates
every piece of community text (`unicode-bidi: isolate`), so a name or a message
cannot reorder the text around it either.

The implicit marks (LRM, RLM, ALM) and the joiners that scripts and emoji need
(ZWJ, ZWNJ) are left alone: they cannot reverse a run of letters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Explicit bidi formatting (LRE RLE PDF LRO RLO, LRI RLI FSI PDI); C0 controls but tab, line
# feed and carriage return; DEL and the C1 controls.
CONTROL_CHARACTERS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _marked(match: re.Match[str]) -> str:
    char = match.group(0)
    name = unicodedata.name(char, "CONTROL CHARACTER")
    return str(format_html('<span class="ctl" title="{}">{}</span>', name, code_point(char)))


def mark_controls(value: Any) -> SafeString:
    """`value` escaped (unless already safe), its control characters replaced by marks."""
    escaped = str(conditional_escape("" if value is None else value))
    # The marks are built by format_html from fixed text and the character's name.
    return mark_safe(CONTROL_CHARACTERS.sub(_marked, escaped))  # noqa: S308


def plain_controls(value: Any) -> str:
    """For places that show no markup (a page title): each control character as "[U+202E]"."""
    return CONTROL_CHARACTERS.sub(lambda m: f"[{code_point(m.group(0))}]", str(value or ""))


@register.filter(name="untrusted")
def untrusted(value: Any) -> SafeString:
    """Community text (a name, a message, a subject): escaped, control characters marked."""
    return mark_controls(value)


@register.filter(name="untrusted_plain")
def untrusted_plain(value: Any) -> str:
    """Community text where no markup can show (a title): control characters as [U+202E]."""
    return plain_controls(value)
