from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "cercle.connectors"
    label = "connectors"
