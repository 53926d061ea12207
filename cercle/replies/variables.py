"""Variables of saved replies: a fixed list, substituted as plain text.

User-written text is never given to the Django template engine: a saved reply
may only name the variables below (`{{ contact.first_name }}`), each replaced
by a plain string. What comes out is text like any reply the member types; the
page escapes it on output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cercle.inbox.models import Conversation
from cercle.workspaces.actors import Actor
from cercle.workspaces.models import Member

# {{ name }} with any spaces inside the braces; the name is checked against VARIABLES.
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# The same, with the space before it and the character after it, to tidy up empty values.
_PLACEHOLDER_IN_TEXT = re.compile(r"( ?)\{\{\s*([^{}]*?)\s*\}\}(?=(.?))", re.DOTALL)
# After an empty value, the space before it goes when punctuation or a space follows.
_TIDY_AFTER = frozenset(" ,.;:!?)\n")

# The variables a saved reply may use, in the order the settings page lists them.
VARIABLES: tuple[str, ...] = (
    "contact.first_name",
    "contact.name",
    "agent.first_name",
    "agent.name",
    "channel.name",
    "post.url",
)


def variables_in(text: str) -> list[str]:
    """The variable names written in `text`, in order, each once."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_variables(text: str) -> list[str]:
    return [name for name in variables_in(text) if name not in VARIABLES]


def validate_variables(text: str) -> None:
    """Refuse (ValidationError) a text naming a variable that does not exist."""
    unknown = unknown_variables(text)
    if unknown:
        raise ValidationError(
            _("Unknown variable: %(names)s. Available: %(known)s.")
            % {
                "names": ", ".join(f"{{{{ {name} }}}}" for name in unknown),
                "known": ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES),
            },
            code="unknown_variable",
        )


def _http_or_empty(url: str) -> str:
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def _first_word(name: str) -> str:
    return name.split()[0] if name.split() else ""


def values_for(conversation: Conversation, agent: Actor | None) -> dict[str, str]:
    """The value of every variable for one conversation answered by `agent` (empty when unknown)."""
    contact = conversation.contact
    member = agent if isinstance(agent, Member) else None
    agent_name = member.name if member else ""
    agent_first = (member.user.first_name if member else "") or _first_word(agent_name)
    post = conversation.post
    return {
        "contact.first_name": contact.first_name.strip(),
        "contact.name": contact.display_name.strip(),
        "agent.first_name": agent_first.strip(),
        "agent.name": agent_name.strip(),
        "channel.name": conversation.channel.name.strip(),
        "post.url": _http_or_empty(post.url) if post else "",
    }


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace the known variables of `text` by their values, as plain text.

    An empty value takes the space before it along when a space or punctuation
    follows ("Bonjour {{ contact.first_name }}," → "Bonjour,"); an unknown name
    stays as written (saving refuses them, so it only shows in old text).
    """

    def substitute(match: re.Match[str]) -> str:
        space, name, following = match.group(1), match.group(2), match.group(3)
        if name not in VARIABLES:
            return match.group(0)
        value = values.get(name, "")
        if not value and space and (following == "" or following in _TIDY_AFTER):
            return ""
        return space + value

    return _PLACEHOLDER_IN_TEXT.sub(substitute, text)


def base_language(code: str) -> str:
    """ "fr-FR" → "fr"; "" stays ""."""
    return code.strip().lower().replace("_", "-").split("-")[0]


@dataclass(frozen=True)
class Version:
    language: str
    text: str


def pick_version(
    versions: Iterable[Version], conversation_language: str, workspace_languages: Iterable[str]
) -> Version | None:
    """The version in the conversation's language, else the workspace's first language, else any."""
    by_language = {base_language(v.language): v for v in versions}
    if not by_language:
        return None
    for wanted in (conversation_language, *list(workspace_languages)[:1]):
        found = by_language.get(base_language(wanted or ""))
        if found is not None:
            return found
    return by_language[sorted(by_language)[0]]
