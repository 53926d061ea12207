"""ASGI entry point (uvicorn): serves pages and the live event stream."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
application = get_asgi_application()
