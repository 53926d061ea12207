from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "cercle.insights"
    label = "insights"

    def ready(self) -> None:
        # The scheduler sits below insights: it learns of the rollup drain through this hook.
        from cercle.inbox.segments import register_personas
        from cercle.pipeline.worker import register_drain

        from .personas import contacts_personas, persona_list
        from .rollup import has_work
        from .tasks import (
            count_persona_members,
            goals_due,
            personas_due,
            prioritise_for_goals,
            roll_up,
            send_weekly,
        )
        from .weekly import has_due_reports

        register_drain(has_work, roll_up)
        register_drain(has_due_reports, send_weekly)
        register_drain(goals_due, prioritise_for_goals)
        register_drain(personas_due, count_persona_members)
        # Rules, routing and saved replies see the personas through the inbox's registry.
        register_personas(contacts_personas, persona_list)
