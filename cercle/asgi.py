"""ASGI entry point (uvicorn): serves pages and the live event stream.

Webhook deliveries (`/hooks/<uuid>`) take a lean path of their own
(`cercle.pipeline.hooks_asgi`: the same view and security checks, without the
pages' middleware); every other request goes through Django's handler.
"""

import os
import warnings
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
# WhiteNoise serves static files as file iterators, which Django warns about
# under ASGI on every CSS/JS request; the live stream itself is asynchronous.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)
django_application = get_asgi_application()

from cercle.pipeline.hooks_asgi import WebhookApp, channel_uuid  # noqa: E402 (after setup)

webhooks = WebhookApp()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if channel_uuid(scope) is not None:
        await webhooks(scope, receive, send)
    else:
        await django_application(scope, receive, send)
