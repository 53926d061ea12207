"""bench/quality.py's SpamAssassin reader, on tiny hand-made e-mails (never the downloaded corpus)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from bench import quality

HTML_SPAM = (
    "From bulk@offers.example  Thu Aug 22 13:17:22 2002\n"
    "Return-Path: <bulk@offers.example>\n"
    "From: Best Offers <bulk@offers.example>\n"
    "To: someone@example.org\n"
    "Subject: Refinance now, lowest rates\n"
    "Message-ID: <1234@offers.example>\n"
    "MIME-Version: 1.0\n"
    'Content-Type: text/html; charset="iso-8859-1"\n'
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<html><body><p>Save =3D big <b>today</b>!</p>"
    '<a href=3D"http://x.example/">click here</a></body></html>\n'
)
PLAIN_HAM = (
    "From: Ana <ana@example.org>\n"
    "To: list@example.org\n"
    "Subject: Re: build fails\n"
    "Message-ID: <5678@example.org>\n"
    "In-Reply-To: <1111@example.org>\n"
    'Content-Type: text/plain; charset="utf-8"\n'
    "\n"
    "Try setting LANG first.\n"
    "\n"
    "On Tuesday, Mark wrote:\n"
    "> the tests fail on the server\n"
)


def _write(directory: Path, group: str, ident: str, text: str) -> Path:
    path = directory / "data" / group / f"{ident}.abc.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"id": ident, "group": group, "checksum": {"type": "MD5", "value": "abc"}}
    path.write_text(json.dumps(record | {"text": text}), encoding="utf-8")
    return path


def test_a_spam_in_html_reads_as_its_subject_and_its_text_without_tags(tmp_path):
    text, label, group = quality.spam_assassin_message(
        _write(tmp_path, "spam-1", "00001", HTML_SPAM)
    )
    assert (label, group) == ("spam", "spam-1")
    assert text.startswith("Refinance now, lowest rates\n\n")
    assert "Save = big today!" in text and "click here" in text
    assert "<" not in text and "Return-Path" not in text


def test_a_reply_reads_as_its_body_without_the_quoted_history(tmp_path):
    text, label, _ = quality.spam_assassin_message(
        _write(tmp_path, "easy-ham-1", "00002", PLAIN_HAM)
    )
    # An answer's subject only repeats the thread's ("Re:"), so the channel stores the body.
    assert (text, label) == ("Try setting LANG first.", "not-spam")


def test_an_unknown_set_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown set"):
        quality.spam_assassin_message(_write(tmp_path, "spam-3", "00003", HTML_SPAM))


def test_the_corpus_reads_every_set_in_a_stable_order(tmp_path):
    _write(tmp_path, "hard-ham-1", "00001", PLAIN_HAM)
    _write(tmp_path, "spam-2", "00002", HTML_SPAM)
    _write(tmp_path, "spam-2", "00001", HTML_SPAM)
    texts, labels = quality.spam_assassin(tmp_path)
    assert (len(texts), labels) == (3, ["spam", "spam", "not-spam"])


def test_the_dev_draw_is_left_out_exactly():
    texts = [f"mail {i}" for i in range(20)]
    labels = ["spam" if i % 3 else "not-spam" for i in range(20)]
    kept, _ = quality.without_dev((texts, labels), "7:5")
    drawn, _ = quality.sample((texts, labels), 5, 7)
    assert (len(kept), set(kept) & set(drawn)) == (15, set())


def test_the_keyword_baseline_needs_two_distinct_phrases():
    assert quality.keyword_spam(
        ["Click here for a FREE quote", "Free as in speech", "free free free"]
    ) == ["spam", "not-spam", "not-spam"]


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (
            ("package/data/spam-1/00001.abc.json", b"{}"),
            ("package/lib/index.js", b"//"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _Reply(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_npm_tarball_is_checked_and_only_its_data_unpacked(tmp_path, monkeypatch):
    tarball = _tarball()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    dist = {"tarball": "https://registry.npmjs.org/x.tgz", "integrity": integrity}

    def urlopen(url):
        return _Reply(json.dumps({"dist": dist}).encode() if url.endswith("0.2.3") else tarball)

    monkeypatch.setattr(quality.urllib.request, "urlopen", urlopen)
    package = quality.fetch_npm(tmp_path)
    assert sorted(p.name for p in package.rglob("*") if p.is_file()) == ["00001.abc.json"]

    dist["integrity"] = "sha512-" + base64.b64encode(b"not it").decode()
    with pytest.raises(SystemExit, match="integrity"):
        quality.fetch_npm(tmp_path / "again")
