"""Discourse forums: posts, topics and flags by webhook; replies, flags, deletes and silences by the REST API."""
