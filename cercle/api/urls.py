from django.urls import path

from . import views
from .api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("settings/api-tokens/", views.tokens_page, name="api_tokens"),
    path("settings/api-tokens/<int:token_id>/revoke", views.revoke_token, name="api_revoke_token"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
