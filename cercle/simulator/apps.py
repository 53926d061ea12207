from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "cercle.simulator"
    label = "simulator"
