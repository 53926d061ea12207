from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "cercle.workspaces"
    label = "workspaces"
