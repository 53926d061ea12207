"""ASGI entry point (uvicorn): serves pages and the live event stream."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
# WhiteNoise serves static files as file iterators, which Django warns about
# under ASGI on every CSS/JS request; the live stream itself is asynchronous.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)
application = get_asgi_application()
