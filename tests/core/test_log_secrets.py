"""Logs carry no secrets, and CERCLE_LOG_FORMAT=json writes one JSON object per line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from cercle.core.logfilters import JsonFormatter, ScrubSecrets, scrub

SECRETS = [
    ("calling with Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
    ("token=9f8e7d6c5b4a&channel=3", "9f8e7d6c5b4a"),
    ('payload {"client_secret": "s3cr3t-value", "id": 4}', "s3cr3t-value"),
    ("api key cercle_AbCdEfGhIjKlMnOpQrStUv used", "cercle_AbCdEfGhIjKlMnOpQrStUv"),
    ("database postgres://cercle:hunter2@db:5432/cercle down", "hunter2"),
    ("refresh failed: access_token=ya29.XYZ secret stays out", "ya29.XYZ"),
    ("password: correct-horse", "correct-horse"),
]


@pytest.mark.parametrize(("line", "secret"), SECRETS)
def test_secrets_are_redacted(line, secret):
    cleaned = scrub(line)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_ordinary_text_is_left_as_it_is():
    line = "ingested 120 messages from channel 3 in 0.4 s (tokens of the model: 512)"
    assert scrub(line) == line


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ScrubSecrets())
    logger = logging.getLogger("cercle.test.secrets")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_secret_in_the_arguments_and_the_traceback_is_redacted():
    logger, stream = _logger(logging.Formatter("%(message)s"))
    try:
        raise ValueError("refused: Bearer tracebacksecret99")
    except ValueError:
        logger.exception("token=%s refused for %s", "argsecret123", "channel 3")
    out = stream.getvalue()
    assert ("argsecret123" in out, "tracebacksecret99" in out) == (False, False)
    assert "channel 3" in out and "ValueError" in out


def test_json_lines_carry_the_level_logger_and_scrubbed_message():
    logger, stream = _logger(JsonFormatter())
    logger.warning("webhook from %s with signature=%s", "channel 3", "abc123def")
    entry = json.loads(stream.getvalue())
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "cercle.test.secrets",
        "webhook from channel 3 with signature=[redacted]",
    )
    assert entry["time"].endswith("Z")


def test_the_settings_scrub_every_console_record():
    from django.conf import settings

    console = settings.LOGGING["handlers"]["console"]
    assert "scrub" in console["filters"]
