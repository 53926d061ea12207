"""Star ratings in insights: reviews per channel, average and count by star, within the period."""

from datetime import timedelta

import pytest
from django.urls import reverse

from cercle.connectors.base import Author, Incoming
from cercle.core import clock
from cercle.inbox.actions import do_receive
from cercle.insights.queries import Period, ratings
from cercle.pipeline.actions import do_create_channel
from cercle.workspaces.actions import do_create_workspace

LOCATION = "accounts/1/locations/2"


@pytest.fixture
def lea(client, owner):
    assert client.login(username="lea", password="correct horse battery")
    return client


def reviews(channel, stars, *, ago=timedelta(hours=3)):
    items = [
        Incoming(
            external_id=f"{channel.pk}-rv-{n}",
            kind="review",
            author=Author(external_id=f"review:{n}", name=f"Client {n}"),
            text=f"Avis {n}",
            sent_at=clock.now() - ago,
            rating=rating,
        )
        for n, rating in enumerate(stars)
    ]
    do_receive(channel, items)


@pytest.fixture
def google(workspace):
    return do_create_channel(
        workspace,
        "google_business",
        "Lumen reviews",
        external_id=LOCATION,
        config={"location": LOCATION},
    )


def test_ratings_count_each_star_per_channel(workspace, google):
    reviews(google, [5, 5, 4, 1])
    reviews(google, [2], ago=timedelta(days=40))  # before the period
    (row,) = ratings(workspace, Period.last_days(30, clock.now()))
    assert (row.channel, row.count, row.average, row.by_star) == (
        "Lumen reviews",
        4,
        3.75,
        {1: 1, 4: 1, 5: 2},
    )
    assert row.bars[0] == (5, 2, 50)


def test_the_dashboard_shows_the_star_ratings_of_this_workspace_only(lea, workspace, google):
    reviews(google, [5, 4, 4])
    other = do_create_workspace("Other")
    theirs = do_create_channel(other, "google_business", "Their reviews", external_id=LOCATION)
    reviews(theirs, [1, 1])
    content = lea.get(reverse("insights:dashboard")).content.decode()
    assert "Star ratings" in content and "Lumen reviews" in content
    assert "★★★★☆" in content and "4.3" in content
    assert "Their reviews" not in content
