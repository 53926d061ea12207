"""The French catalogue: complete, consistent with its English, compiled, and used by the pages."""

from __future__ import annotations

import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from cercle.workspaces.models import Member

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "fr" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


@dataclass
class Entry:
    """One message of a .po file (obsolete `#~` entries are not kept)."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(text: str) -> str:
    """The value of a quoted .po string, C escapes decoded."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text.strip()[1:-1])


class _PoReader:
    """parse_po's state: the entries read, the one being read, and the field a string line extends."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.current = Entry()
        self.target: tuple[str, int] | None = None  # ("msgstr", plural index) or (keyword, 0)

    def _next_entry(self) -> None:
        self.entries.append(self.current)
        self.current, self.target = Entry(), None

    def comment(self, line: str) -> None:
        if self.target is not None:  # a comment starts the next entry
            self._next_entry()
        if line.startswith("#,"):
            self.current.flags.update(flag.strip() for flag in line[2:].split(","))

    def continuation(self, key: str, index: int, line: str) -> None:
        """A string line alone: it extends the field read last."""
        if key == "msgstr":
            self.current.msgstr[index] += _unquote(line)
        else:
            setattr(self.current, key, (getattr(self.current, key) or "") + _unquote(line))

    def keyword(self, line: str, number: int) -> None:
        """`msgctxt`, `msgid`, `msgid_plural` or `msgstr[n]` and its first string."""
        keyword, _, value = line.partition(" ")
        if (
            keyword in {"msgctxt", "msgid"}
            and self.target is not None
            and self.target[0] == "msgstr"
        ):
            self._next_entry()
        if keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            self.current.msgstr[index] = _unquote(value)
            self.target = ("msgstr", index)
        else:
            setattr(self.current, keyword, _unquote(value))
            self.target = (keyword, 0)
            if keyword == "msgid":
                self.current.line = number

    def finish(self) -> list[Entry]:
        if self.target is not None:
            self.entries.append(self.current)
        return [entry for entry in self.entries if entry.msgid]  # the header has an empty msgid


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for msgfmt-valid files, so no dependency is needed."""
    reader = _PoReader()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            reader.comment(line)
        elif line.startswith('"') and reader.target is not None:
            reader.continuation(*reader.target, line)
        else:
            reader.keyword(line, number)
    return reader.finish()


CATALOGUE = parse_po(PO_PATH)

# %(name)s, %d, %.1f… and %% (a literal percent, which must stay doubled); HTML tags too,
# since a translation that drops <code> or </kbd> breaks the markup around it.
_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|</?\w+>")


def _placeholders(text: str) -> Counter[str]:
    return Counter(_PLACEHOLDER.findall(text))


def _label(entry: Entry) -> str:
    return f"{PO_PATH.name}:{entry.line} {entry.msgid!r}"


def test_the_catalogue_is_not_empty() -> None:
    assert len(CATALOGUE) > 100


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    incomplete = [
        _label(entry)
        for entry in CATALOGUE
        if "fuzzy" in entry.flags or not entry.msgstr or not all(entry.msgstr.values())
    ]
    assert incomplete == []


def test_placeholders_and_markup_match_the_english() -> None:
    mismatched = []
    for entry in CATALOGUE:
        english = [_placeholders(entry.msgid)]
        if entry.msgid_plural is not None:
            english.append(_placeholders(entry.msgid_plural))
        for translation in entry.msgstr.values():
            if _placeholders(translation) not in english:
                mismatched.append(_label(entry))
    assert mismatched == []


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    """The .mo is committed (a fresh machine has no gettext tools): it must not lag behind."""
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in CATALOGUE:
        if "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural is None:
            got = (
                compiled.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt
                else compiled.gettext(entry.msgid)
            )
            if got != entry.msgstr[0]:
                stale.append(_label(entry))
        elif compiled.ngettext(entry.msgid, entry.msgid_plural, 5) != entry.msgstr[1]:
            stale.append(_label(entry))
    assert stale == []


@pytest.mark.parametrize(
    "how",
    [
        {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"},
        {"cookie": "fr"},
    ],
    ids=["accept-language", "language-cookie"],
)
def test_the_inbox_speaks_french_to_a_french_browser(
    client: Client, owner: Member, how: dict[str, Any]
) -> None:
    client.force_login(owner.user)
    headers = dict(how)
    if "cookie" in headers:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = headers.pop("cookie")
    page = client.get("/", **headers).content.decode()
    assert "Toutes ouvertes" in page  # "All open", the first view of the left pane
