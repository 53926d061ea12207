from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/bell/", views.bell, name="bell"),
    path("notifications/read/", views.mark_all_read, name="read_all"),
    path("notifications/<int:pk>/read/", views.mark_read, name="read"),
    path("notifications/<int:pk>/open/", views.open_notification, name="open"),
    path("settings/webhooks/", views.webhooks_page, name="webhooks"),
    path("settings/webhooks/<int:pk>/", views.webhook_change, name="webhook_change"),
    path("settings/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path(
        "settings/webhooks/deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"
    ),
]
