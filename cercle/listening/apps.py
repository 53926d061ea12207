from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "cercle.listening"
    label = "listening"
