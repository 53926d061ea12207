from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "cercle.workflow"
    label = "workflow"
