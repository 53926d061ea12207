"""Bidi spoofing in a real browser: "abc\u202egnp.exe" is not displayed as "abcexe.png".

The test measures where chromium draws the letters: in the spoof, the "g" that
follows the override is drawn to the right of the "x" (the run is reversed). A
raw copy of the name added to the page shows the measurement catches it; the
author, the list row and the message text of the inbox must keep "g" left of "x"
and show the override as a visible mark.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import login
from tests.conftest import sim_event
from tests.inbox.test_views import receive

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SPOOF = "abc\u202egnp.exe"

# Where the "g" and the "x" of "gnp.exe" are drawn inside the element `selector`.
_MEASURE = """(selector) => {
  const element = document.querySelector(selector);
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf("gnp.exe");
    if (at < 0) continue;
    const left = (offset) => {
      const range = document.createRange();
      range.setStart(node, at + offset);
      range.setEnd(node, at + offset + 1);
      return range.getBoundingClientRect().left;
    };
    return {g: left(0), x: left(5), shown: element.innerText};
  }
  return null;
}"""


def test_a_right_to_left_override_neither_reorders_a_name_nor_a_message(page, owner, sim_channel):
    receive(
        sim_channel,
        sim_event("rlo", text=f"Facture : {SPOOF}", author={"id": "u-rlo", "name": SPOOF}),
    )
    login(page, "lea")
    page.click(".conv-row a")
    page.wait_for_selector("#timeline .item-inbound .author")

    # The control: the same name put on the page raw is drawn reversed ("abcexe.png").
    page.evaluate(
        """(text) => { const probe = document.createElement("span");
        probe.id = "raw-probe"; probe.textContent = text; document.body.append(probe); }""",
        SPOOF,
    )
    raw = page.evaluate(_MEASURE, "#raw-probe")
    assert raw["g"] > raw["x"]

    for selector in (
        ".conv-row .who",
        "#timeline .item-inbound .author",
        "#timeline .item-inbound .text",
    ):
        drawn = page.evaluate(_MEASURE, selector)
        assert drawn["g"] < drawn["x"], selector
        assert "U+202E" in drawn["shown"] and "\u202e" not in drawn["shown"], selector
    assert page.locator("#timeline .item-inbound .author .ctl").get_attribute("title") == (
        "RIGHT-TO-LEFT OVERRIDE"
    )
    isolation = page.evaluate(
        "getComputedStyle(document.querySelector('#timeline .item-inbound .author')).unicodeBidi"
    )
    assert isolation == "isolate"
