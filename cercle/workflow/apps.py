from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "cercle.workflow"
    label = "workflow"

    def ready(self) -> None:
        # The inbox's upsert routes the conversations it touched (it never imports workflow).
        from cercle.inbox import stages
        from cercle.workflow.routing import route_conversations

        stages.register_router(route_conversations)
