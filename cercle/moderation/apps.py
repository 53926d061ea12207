from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "cercle.moderation"
    label = "moderation"

    def ready(self) -> None:
        # The inbox's upsert runs these on each batch (the inbox never imports moderation).
        from cercle.inbox import stages
        from cercle.moderation.classify import classify_messages
        from cercle.moderation.rules import apply_rules

        stages.register_classifier(classify_messages)
        stages.register_rules(apply_rules)
