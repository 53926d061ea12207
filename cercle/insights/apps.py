from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "cercle.insights"
    label = "insights"
