"""Text hygiene shared by connectors that receive free-form documents (feeds, e-mail).

Everything a platform sends is hostile until cleaned: NUL characters (PostgreSQL
refuses them), lone surrogates (unencodable, they break the JSON of a page),
control characters, and HTML. What the inbox stores is plain text; it is escaped
again when shown, so a `<script>` in a message stays words on the screen.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")

# The allow-list of the sanitiser: structure and links only. No <img> at all, so a
# remote image (a tracking pixel) is never loaded by anyone who reads the HTML.
SAFE_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href", "title"}}
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"}
)


def clean(text: str) -> str:
    """Take out NUL, control characters and lone surrogates; normalise line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def sanitize_html(html: str) -> str:
    """Allow-list sanitising (nh3): no scripts, styles, images, event handlers or odd URLs."""
    return nh3.clean(
        clean(html),
        tags=set(SAFE_TAGS),
        attributes={k: set(v) for k, v in SAFE_ATTRIBUTES.items()},
        url_schemes=set(SAFE_URL_SCHEMES),
        clean_content_tags={"script", "style", "head", "title"},
        link_rel="noopener noreferrer nofollow",
    )


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, sanitised first (paragraphs kept as blank lines)."""
    parser = _TextExtractor()
    parser.feed(sanitize_html(html))
    parser.close()
    return tidy("".join(parser.parts))


def tidy(text: str) -> str:
    """Clean text, collapse runs of spaces and blank lines, strip the ends."""
    lines = [_SPACES.sub(" ", line).strip() for line in clean(text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
