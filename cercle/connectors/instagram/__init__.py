"""Instagram connector: Instagram Graph API (through Facebook Login) and its webhooks."""
