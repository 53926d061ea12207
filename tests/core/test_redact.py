"""Secrets are redacted from error texts and log lines (cercle.core.redact)."""

from __future__ import annotations

import logging

from cercle.core.redact import redact, remember_secrets


def test_redact(caplog):
    remember_secrets({"a": "tok/en+secret==", "b": "short", "c": {"d": ["another-secret-value"]}})
    assert redact("x tok/en+secret== y tok%2Fen%2Bsecret%3D%3D z") == "x [redacted] y [redacted] z"
    assert redact("short") == "short"
    assert redact("GET /me?access_token=abcdef123&x=1") == "GET /me?access_token=[redacted]&x=1"
    assert redact('{"client_secret": "zz-top"}') == '{"client_secret": "[redacted]"}'
    assert redact("Authorization: Bearer abcdefghijk") == "Authorization: Bearer [redacted]"
    logging.getLogger("cercle.x").warning("failed with %s", "another-secret-value")
    assert "another-secret-value" not in caplog.text and "[redacted]" in caplog.text
