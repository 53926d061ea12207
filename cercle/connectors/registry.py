"""Connector registry: classes listed by dotted path in settings.CERCLE_CONNECTORS."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Connector
from .http import PlatformHttp

if TYPE_CHECKING:
    from .models import Channel


class UnknownPlatform(LookupError):
    """No connector is registered for this platform."""


@cache
def connector_classes() -> dict[str, type[Connector]]:
    """platform name → connector class, in settings order."""
    classes: dict[str, type[Connector]] = {}
    for path in settings.CERCLE_CONNECTORS:
        cls = import_string(path)
        classes[cls.platform] = cls
    return classes


def connector_class(platform: str) -> type[Connector]:
    try:
        return connector_classes()[platform]
    except KeyError as exc:
        raise UnknownPlatform(platform) from exc


def connector_for(channel: Channel, http: PlatformHttp | None = None) -> Connector:
    """The connector of `channel`, with a fresh shared HTTP client unless one is given."""
    return connector_class(channel.platform)(channel, http or PlatformHttp())
