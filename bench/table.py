"""The table `make bench` prints at the end: each benchmark's last machine-readable line.

    .venv/bin/python bench/table.py var/bench.log

The log holds each benchmark's output after a line `### NAME` (written by the
Makefile). A benchmark's result is its last line made only of `key=value` words
(`bench=hooks db=sqlite rps=…`; older ones print `pipeline=… ratio=…`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

WORD = re.compile(r"^[a-z_0-9]+=\S*$")


def results(text: str) -> list[tuple[str, dict[str, str]]]:
    found: dict[str, dict[str, str]] = {}
    name = ""
    for line in text.splitlines():
        if line.startswith("### "):
            name = line[4:].strip()
            found.setdefault(name, {})
            continue
        words = line.split()
        if name and words and all(WORD.match(w) for w in words):
            found[name] = dict(w.split("=", 1) for w in words)
    return list(found.items())


def main(argv: list[str]) -> int:
    rows = results(Path(argv[1]).read_text(errors="replace"))
    width = max((len(n) for n, _ in rows), default=5)
    print()
    print(f"{'bench':<{width}}  {'db':<8}  figures")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 60}")
    for name, values in rows:
        values = dict(values)
        values.pop("bench", None)
        db = values.pop("db", "")
        figures = " ".join(f"{k}={v}" for k, v in values.items()) or "(no result: see above)"
        print(f"{name:<{width}}  {db:<8}  {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
