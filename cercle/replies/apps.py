from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "cercle.replies"
    label = "replies"
