"""The widget's endpoints, called as a page of another site would: CORS, no cookies, limits."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cercle.connectors.base import ActionKind
from cercle.connectors.models import Channel
from cercle.inbox.actions import do_moderate_message, do_reply
from cercle.inbox.models import Message
from cercle.pipeline.actions import do_create_channel, do_ingest_pending
from cercle.pipeline.models import RawEvent
from cercle.pipeline.sender import send_due
from cercle.pipeline.widget import visitor_key
from cercle.workspaces.models import Member

from .conftest import SHOP, SITE, FakeSite

pytestmark = pytest.mark.django_db

TOKEN = "a3f1" * 16  # 64 hex characters, as the widget makes them
OTHER = "b7c2" * 16


def url(channel: Channel, name: str) -> str:
    return f"/w/{channel.uuid}/{name}"


def submit(
    client: Client,
    channel: Channel,
    text: str = "Bonjour, puis-je retirer ma commande en boutique ?",
    *,
    token: str = TOKEN,
    origin: str = SITE,
    **extra: object,
):
    data = {
        "kind": "contact",
        "text": text,
        "name": "Hugo",
        "page_url": f"{SITE}/contact",
        "page_title": "Contact",
        **extra,
    }
    return client.post(
        url(channel, "messages"),
        data=json.dumps(data),
        content_type="application/json",
        HTTP_ORIGIN=origin,
        HTTP_X_CERCLE_VISITOR=token,
    )


def read(client: Client, channel: Channel, token: str = TOKEN, origin: str = SITE):
    return client.get(url(channel, "thread"), HTTP_ORIGIN=origin, HTTP_X_CERCLE_VISITOR=token)


# --- the script ------------------------------------------------------------------------------


def test_script_is_served_as_javascript(client: Client, web_channel: Channel) -> None:
    response = client.get(url(web_channel, "widget.js"))
    assert (response.status_code, response["Content-Type"], b"textContent" in response.content) == (
        200,
        "text/javascript; charset=utf-8",
        True,
    )


def test_script_never_builds_markup_from_strings(client: Client, web_channel: Channel) -> None:
    content = client.get(url(web_channel, "widget.js")).content
    assert [
        w for w in (b"innerHTML", b"outerHTML", b"insertAdjacentHTML", b"eval(") if w in content
    ] == []


def test_script_of_a_channel_of_another_platform_is_a_404(
    client: Client, sim_channel: Channel
) -> None:
    assert client.get(url(sim_channel, "widget.js")).status_code == 404


# --- CORS --------------------------------------------------------------------------------------


def test_preflight_from_the_site_is_granted_without_credentials(
    client: Client, web_channel: Channel
) -> None:
    response = client.options(
        url(web_channel, "messages"),
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-cercle-visitor",
    )
    assert (
        response.status_code,
        response["Access-Control-Allow-Origin"],
        "x-cercle-visitor" in response["Access-Control-Allow-Headers"].lower(),
        response.has_header("Access-Control-Allow-Credentials"),
    ) == (204, SHOP, True, False)


def test_another_origin_gets_no_cors_grant(client: Client, web_channel: Channel) -> None:
    response = submit(client, web_channel, origin="https://evil.example")
    assert (
        response.status_code,
        response.has_header("Access-Control-Allow-Origin"),
        RawEvent.objects.count(),
    ) == (403, False, 0)


def test_no_cookie_is_ever_set(client: Client, web_channel: Channel) -> None:
    responses = [submit(client, web_channel), read(client, web_channel)]
    assert [dict(r.cookies) for r in responses] == [{}, {}]


# --- submissions -------------------------------------------------------------------------------


def test_submission_goes_through_the_ingest_flow(client: Client, web_channel: Channel) -> None:
    response = submit(client, web_channel)
    stored = (RawEvent.objects.get().source, Message.objects.count())
    do_ingest_pending()
    message = Message.objects.get()
    assert (response.status_code, stored, message.conversation.thread_key, message.kind) == (
        202,
        ("widget", 0),
        f"private:w:{visitor_key(TOKEN)}",
        "message",
    )


def test_the_visitor_token_itself_is_never_stored(client: Client, web_channel: Channel) -> None:
    submit(client, web_channel)
    raw = RawEvent.objects.get()
    assert TOKEN.encode() not in bytes(raw.body) + json.dumps(raw.headers).encode()


def test_a_comment_hangs_under_the_page_it_was_written_on(
    client: Client, web_channel: Channel
) -> None:
    submit(client, web_channel, kind="comment", page_url=f"{SITE}/journal/aube", page_title="Aube")
    do_ingest_pending()
    message = Message.objects.get()
    assert (message.kind, message.conversation.post.external_id) == (
        "comment",
        f"{SITE}/journal/aube",
    )


def test_a_page_of_another_site_is_not_kept(client: Client, web_channel: Channel) -> None:
    submit(client, web_channel, page_url="https://evil.example/page")
    do_ingest_pending()
    assert Message.objects.get().conversation.post is None


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"token": ""}, 400),
        ({"token": "short"}, 400),
        ({"text": "   "}, 400),
        ({"text": "x" * 5001}, 413),
        ({"name": "n" * 101}, 400),
    ],
)
def test_bad_submissions_are_refused(
    client: Client, web_channel: Channel, change: dict[str, str], status: int
) -> None:
    token = change.pop("token", TOKEN)
    response = submit(client, web_channel, token=token, **change)
    assert (response.status_code, RawEvent.objects.count()) == (status, 0)


def test_a_body_that_is_not_json_is_a_400(client: Client, web_channel: Channel) -> None:
    response = client.post(
        url(web_channel, "messages"),
        data=b"{nope",
        content_type="application/json",
        HTTP_ORIGIN=SITE,
        HTTP_X_CERCLE_VISITOR=TOKEN,
    )
    assert response.status_code == 400


def test_a_huge_body_is_a_413(client: Client, web_channel: Channel) -> None:
    response = submit(client, web_channel, padding="p" * 20_000)
    assert (response.status_code, response["Access-Control-Allow-Origin"]) == (413, SITE)


def test_nul_and_lone_surrogates_are_cleaned(client: Client, web_channel: Channel) -> None:
    submit(client, web_channel, text="avant\x00après \ud800 fin")
    do_ingest_pending()
    assert Message.objects.get().text == "avantaprès  fin"


def test_a_visitor_is_rate_limited(client: Client, web_channel: Channel) -> None:
    statuses = [submit(client, web_channel, f"message {i}").status_code for i in range(6)]
    last = submit(client, web_channel, "encore")
    assert (statuses[:5], statuses[5], last["Retry-After"]) == ([202] * 5, 429, "60")


def test_an_address_is_rate_limited_whatever_the_tokens(
    client: Client, web_channel: Channel
) -> None:
    statuses = [submit(client, web_channel, token=f"{i:064x}").status_code for i in range(21)]
    assert (statuses.count(202), statuses[-1]) == (20, 429)


# --- the thread --------------------------------------------------------------------------------


def test_thread_shows_the_visitor_its_messages_and_the_teams_sent_answer(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    submit(client, web_channel)
    do_ingest_pending()
    conversation = Message.objects.get().conversation
    do_reply(owner, conversation, "Oui, dès demain 10 h.")
    pending = [m["from"] for m in read(client, web_channel).json()["messages"]]
    send_due()
    messages = read(client, web_channel).json()["messages"]
    assert (pending, [(m["from"], m["text"]) for m in messages], site.requests) == (
        ["visitor"],
        [
            ("visitor", "Bonjour, puis-je retirer ma commande en boutique ?"),
            ("team", "Oui, dès demain 10 h."),
        ],
        [],
    )


def test_another_visitor_sees_nothing_of_it(client: Client, web_channel: Channel) -> None:
    submit(client, web_channel)
    do_ingest_pending()
    assert read(client, web_channel, token=OTHER).json() == {"messages": []}


def test_a_hidden_message_leaves_the_widget(
    client: Client, web_channel: Channel, owner: Member, site: FakeSite
) -> None:
    submit(client, web_channel, "spam spam")
    do_ingest_pending()
    do_moderate_message(owner, Message.objects.get(), ActionKind.HIDE)
    send_due()
    assert (read(client, web_channel).json(), site.requests) == ({"messages": []}, [])


def test_thread_of_another_workspace_channel_is_separate(
    client: Client, web_channel: Channel
) -> None:
    from cercle.workspaces.actions import do_create_workspace

    other = do_create_channel(
        do_create_workspace("Autre"),
        "website",
        "Autre site",
        config={"site_url": SITE},
        credentials={"webhook_secret": "x"},
    )
    submit(client, web_channel)
    do_ingest_pending()
    assert read(client, other).json() == {"messages": []}


def test_thread_without_token_is_a_400(client: Client, web_channel: Channel) -> None:
    assert client.get(url(web_channel, "thread"), HTTP_ORIGIN=SITE).status_code == 400


def test_team_notes_never_reach_the_widget(
    client: Client, web_channel: Channel, owner: Member
) -> None:
    from cercle.inbox.actions import do_add_note

    submit(client, web_channel)
    do_ingest_pending()
    do_add_note(owner, Message.objects.get().conversation, "Client difficile, voir le ticket 12")
    assert [m["from"] for m in read(client, web_channel).json()["messages"]] == ["visitor"]
