"""What a connector may record about its own channel while it talks to the platform.

Quota counters live in `connectors.quota` (no Activity: they change on every
call). Refreshing credentials is not a connector's business: the pipeline does
it under the channel's row lock (`cercle.pipeline.refresh`). A connector whose
token the platform refuses mid-call asks for it through `refresh_now`, a hook
the pipeline installs at start-up; the connector layer never imports the
pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Channel

# refresh(channel, force=True) -> whether it refreshed; updates `channel` in place.
CredentialsRefresher = Callable[["Channel"], bool]
_refresher: CredentialsRefresher | None = None


def set_credentials_refresher(refresher: CredentialsRefresher) -> None:
    """Install the one function that refreshes credentials (the pipeline does, in its apps.py)."""
    global _refresher
    _refresher = refresher


def refresh_now(channel: Channel) -> bool:
    """The platform refused the access token: refresh it (under the row lock) unless another worker did.

    `channel` holds the current credentials afterwards; True when this call refreshed.
    """
    if _refresher is None:
        raise RuntimeError("no credentials refresher installed (is cercle.pipeline installed?)")
    return _refresher(channel)


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
