from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "cercle.privacy"
    label = "privacy"
