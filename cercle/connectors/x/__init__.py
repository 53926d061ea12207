"""The X (formerly Twitter) connector: API v2 for reading and acting, Account Activity webhooks."""
