from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "cercle.notifications"
    label = "notifications"
    verbose_name = "Notifications"
