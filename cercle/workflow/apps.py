from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "cercle.workflow"
    label = "workflow"

    def ready(self) -> None:
        # The inbox's upsert routes the conversations it touched (it never imports workflow).
        from cercle.inbox import stages
        from cercle.workflow.assign import assign_arrivals
        from cercle.workflow.handoff import unassign_deactivated_member
        from cercle.workflow.routing import route_conversations
        from cercle.workspaces.signals import member_deactivated

        stages.register_router(route_conversations)
        # Automatic assignment after the SLA: on arrival, to whoever has room (workflow/assign.py).
        stages.register_router(assign_arrivals)
        # A deactivated member's open conversations are unassigned, in the same transaction.
        member_deactivated.connect(
            unassign_deactivated_member, dispatch_uid="workflow.unassign_deactivated_member"
        )
