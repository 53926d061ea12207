from django.urls import path

from . import hooks

app_name = "connectors"

urlpatterns = [
    path("hooks/<uuid:channel_uuid>", hooks.webhook, name="webhook"),
]
