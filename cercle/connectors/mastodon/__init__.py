"""Mastodon: an account's mentions, private mentions, favourites and boosts by polling; replies and moderation by its REST API."""
