from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "cercle.moderation"
    label = "moderation"
