"""One Meta app serves many Pages: each entry of a delivery goes to the channel that owns its account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cercle.connectors.meta.webhooks import sign
from cercle.connectors.models import Channel
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.pipeline.models import RawEvent
from cercle.workspaces.actions import do_create_workspace
from cercle.workspaces.models import Workspace

SECRET = "shared-meta-app-secret"
PAGE_A = "1111111111"
PAGE_B = "2222222222"
IG_A = "17841400000000001"


def page(workspace: Workspace, page_id: str, secret: str = SECRET) -> Channel:
    return do_create_channel(
        workspace,
        "facebook",
        f"Page {page_id}",
        external_id=page_id,
        credentials={"app_id": "4242", "app_secret": secret, "page_access_token": "EAA"},
    )


def feed_entry(page_id: str, comment_id: str, author_id: str = "42") -> dict[str, Any]:
    return {
        "id": page_id,
        "time": 1732526400,
        "changes": [
            {
                "field": "feed",
                "value": {
                    "item": "comment",
                    "verb": "add",
                    "post_id": f"{page_id}_1",
                    "comment_id": f"{page_id}_1_{comment_id}",
                    "parent_id": f"{page_id}_1",
                    "from": {"id": author_id, "name": "Client"},
                    "message": f"comment {comment_id}",
                    "created_time": 1732526400,
                },
            }
        ],
    }


def deliver(client: Any, channel: Channel, body: dict[str, Any], secret: str = SECRET) -> int:
    raw = json.dumps(body).encode()
    response = client.post(
        f"/hooks/{channel.uuid}",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(raw, secret),
    )
    return int(response.status_code)


@pytest.fixture
def other_workspace(db: Any) -> Workspace:
    return do_create_workspace("Autre Maison")


def test_a_delivery_for_a_foreign_page_stores_nothing(client, workspace):
    channel = page(workspace, PAGE_A)
    status = deliver(client, channel, {"object": "page", "entry": [feed_entry(PAGE_B, "9")]})
    assert (status, RawEvent.objects.count()) == (200, 0)


def test_an_unknown_account_is_counted_on_the_channel_that_received_it(client, workspace):
    channel = page(workspace, PAGE_A)
    deliver(client, channel, {"object": "page", "entry": [feed_entry(PAGE_B, "9")]})
    channel.refresh_from_db()
    assert (channel.unknown_account_deliveries, channel.unknown_account_last) == (1, PAGE_B)


def test_a_mixed_delivery_goes_to_each_owner_and_nowhere_else(client, workspace, other_workspace):
    mine = page(workspace, PAGE_A)
    theirs = page(other_workspace, PAGE_B)
    body = {"object": "page", "entry": [feed_entry(PAGE_A, "1"), feed_entry(PAGE_B, "2")]}
    deliver(client, mine, body)
    do_ingest_pending()
    stored = sorted(Message.objects.values_list("channel_id", "workspace_id", "external_id"))
    assert stored == [
        (mine.pk, workspace.pk, f"{PAGE_A}_1_1"),
        (theirs.pk, other_workspace.pk, f"{PAGE_B}_1_2"),
    ]


def test_a_page_with_another_app_secret_gets_nothing_signed_with_ours(
    client, workspace, other_workspace
):
    mine = page(workspace, PAGE_A)
    theirs = page(other_workspace, PAGE_B, secret="their-own-app-secret")
    deliver(client, mine, {"object": "page", "entry": [feed_entry(PAGE_B, "2")]})
    mine.refresh_from_db()
    assert (RawEvent.objects.filter(channel=theirs).count(), mine.unknown_account_deliveries) == (
        0,
        1,
    )


def test_an_inactive_owner_receives_nothing(client, workspace, other_workspace):
    mine = page(workspace, PAGE_A)
    theirs = page(other_workspace, PAGE_B)
    Channel.objects.filter(pk=theirs.pk).update(is_active=False)
    deliver(client, mine, {"object": "page", "entry": [feed_entry(PAGE_B, "2")]})
    assert RawEvent.objects.filter(channel=theirs).count() == 0


def test_a_comment_by_the_entrys_page_is_not_the_brands_when_the_channel_is_another_page(
    workspace,
):
    from cercle.connectors.base import RawEventData
    from cercle.connectors.registry import connector_for

    channel = page(workspace, PAGE_A)
    body = {"object": "page", "entry": [feed_entry(PAGE_A, "1", author_id=PAGE_B)]}
    [item] = connector_for(channel).parse(RawEventData(body=json.dumps(body).encode()))
    assert item.from_brand is False


def test_an_instagram_entry_for_another_account_is_not_parsed_by_this_channel(workspace):
    from cercle.connectors.base import RawEventData
    from cercle.connectors.registry import connector_for

    channel = do_create_channel(
        workspace,
        "instagram",
        "IG",
        external_id=IG_A,
        credentials={"app_id": "1", "app_secret": SECRET, "access_token": "EAA"},
    )
    entry = {
        "id": "17841499999999999",
        "time": 1732526400,
        "changes": [
            {
                "field": "comments",
                "value": {
                    "id": "c1",
                    "text": "hello",
                    "from": {"id": "17841499999999999", "username": "someone_else"},
                    "media": {"id": "m1"},
                },
            }
        ],
    }
    raw = RawEventData(body=json.dumps({"object": "instagram", "entry": [entry]}).encode())
    assert connector_for(channel).parse(raw) == []
