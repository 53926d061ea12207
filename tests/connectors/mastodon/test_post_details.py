"""Mastodon post enrichment: `GET /api/v1/statuses/:id`, the brand's statuses only (recorded)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cercle.connectors.base import Capability, TokenRevoked, TransientError
from cercle.connectors.mastodon.connector import MastodonConnector
from cercle.connectors.registry import connector_for

from .conftest import answer, mastodon_channel, record

STATUS = "117440826670289215"
WRITER = "117440810673731823"  # the account of the recorded status


def test_mastodon_declares_post_details():
    assert Capability.POST_DETAILS in MastodonConnector.capabilities


def test_the_brands_status_is_read_with_its_text_link_and_time(instance, workspace):
    channel = mastodon_channel(workspace, account_id=WRITER)
    instance.on("GET", f"/api/v1/statuses/{STATUS}", answer("status_replied_to.json"))
    [ref] = connector_for(channel).post_details([STATUS])
    body = record("status_replied_to.json")["body"]
    assert (ref.external_id, ref.url, ref.published_at) == (
        STATUS,
        body["url"],
        datetime(2026, 10, 14, 19, 6, 41, 488000, tzinfo=UTC),
    )
    assert ref.text and "<" not in ref.text


def test_another_accounts_status_is_not_the_brands_post(instance, channel):
    instance.on("GET", f"/api/v1/statuses/{STATUS}", answer("status_replied_to.json"))
    assert connector_for(channel).post_details([STATUS]) == []


def test_a_deleted_status_is_left_out(instance, channel):
    assert connector_for(channel).post_details(["0"]) == []  # the recorded 404


@pytest.mark.parametrize("body", [{"id": STATUS, "account": "nope"}, {"id": "1"}])
def test_a_malformed_answer_is_left_out(instance, workspace, body):
    channel = mastodon_channel(workspace, account_id=WRITER)
    instance.on("GET", f"/api/v1/statuses/{STATUS}", lambda request: httpx.Response(200, json=body))
    assert connector_for(channel).post_details([STATUS]) == []


def test_an_answer_that_is_not_an_object_is_retried_later(instance, channel):
    instance.on(
        "GET", f"/api/v1/statuses/{STATUS}", lambda request: httpx.Response(200, json=["a"])
    )
    with pytest.raises(TransientError):
        connector_for(channel).post_details([STATUS])


def test_a_revoked_token_fails_the_whole_call(instance, channel):
    instance.on("GET", f"/api/v1/statuses/{STATUS}", answer("error_invalid_token.json"))
    with pytest.raises(TokenRevoked):
        connector_for(channel).post_details([STATUS])
