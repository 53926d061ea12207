from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "cercle.inbox"
    label = "inbox"
