"""What a connector may record about its own channel while it talks to the platform.

Quota counters are adapter bookkeeping (no Activity: they change on every
call). Refreshed credentials are a domain write: connectors hand them to the
store the pipeline registers at start-up (`set_credentials_store`), which keeps
them under a row lock and logs it; the connector layer never imports the
pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import OAuthTokens
    from .models import Channel

CredentialsStore = Callable[["Channel", "OAuthTokens"], None]
_credentials_store: CredentialsStore | None = None


def save_quota(channel: Channel, quota: dict[str, Any]) -> None:
    """Keep the channel's quota counters (what the platform's headers or our own count say)."""
    from .models import Channel

    Channel.objects.filter(pk=channel.pk).update(quota=quota)
    channel.quota = quota


def set_credentials_store(store: CredentialsStore) -> None:
    """Install the function that keeps refreshed credentials (the pipeline does, in its apps.py)."""
    global _credentials_store
    _credentials_store = store


def store_credentials(channel: Channel, tokens: OAuthTokens) -> None:
    """Keep credentials a connector refreshed on its own (X rotates refresh tokens on each use)."""
    if _credentials_store is None:
        raise RuntimeError("no credentials store installed (is cercle.pipeline installed?)")
    _credentials_store(channel, tokens)


def count_unknown_accounts(channel: Channel, accounts: set[str]) -> None:
    """Count a delivery that reached `channel` for accounts no channel owns (shown on its page).

    Bookkeeping like the quota (no Activity: nothing was stored, and a flood of
    foreign deliveries must not flood the log).
    """
    from django.db.models import F
    from django.utils import timezone

    from .models import Channel

    Channel.objects.filter(pk=channel.pk).update(
        unknown_account_deliveries=F("unknown_account_deliveries") + 1,
        unknown_account_last=sorted(accounts)[0][:200],
        unknown_account_last_at=timezone.now(),
    )
