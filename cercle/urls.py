"""Top-level URL map."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("cercle.inbox.urls")),
    path("", include("cercle.workspaces.urls")),
    path("", include("cercle.pipeline.urls")),
    path("", include("cercle.workflow.urls")),
    path("", include("cercle.insights.urls")),
    path("", include("cercle.moderation.urls")),
    path("", include("cercle.replies.urls")),
    path("", include("cercle.notifications.urls")),
    path("", include("cercle.accounts.urls")),
    path("", include("cercle.privacy.urls")),
    path("", include("cercle.listening.urls")),
    # The public API (/api/v1/), the API tokens page, /healthz, /readyz and /metrics.
    path("", include("cercle.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Operators (staff users): a read-only view of channels, raw events, outbox, members, activity.
    path("admin/", admin.site.urls),
]
