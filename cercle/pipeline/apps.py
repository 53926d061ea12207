from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "cercle.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        # The inbox writes Outbox rows; the sender is woken through this signal, not an import.
        from cercle.inbox.signals import outbox_written
        from cercle.pipeline.tasks import wake_sender

        outbox_written.connect(wake_sender, dispatch_uid="pipeline.wake_sender")

        # Rules on business hours read the workflow app's hours (moderation may not import it).
        # And a rule's webhook action names the notifications app's endpoints.
        from cercle.moderation.rules import set_business_hours, set_webhook_endpoints
        from cercle.notifications.queries import active_endpoints
        from cercle.workflow.routing import open_at

        set_business_hours(open_at)
        set_webhook_endpoints(active_endpoints)

        # A connector whose token is refused mid-call asks the one place that refreshes.
        from cercle.connectors.state import set_credentials_refresher
        from cercle.pipeline.refresh import refresh_channel

        set_credentials_refresher(lambda channel: refresh_channel(channel, force=True))

        # A privacy erasure or the retention drain clears the raw payloads of what they remove.
        from cercle.pipeline.privacy import erase_raw_events
        from cercle.privacy.erasers import register_raw_event_eraser

        register_raw_event_eraser(erase_raw_events)

        # What listening and notifications keep about a person: exported, erased and purged
        # with the rest (neither may import the privacy app's siblings, so they meet here).
        from cercle.listening.privacy import KEEPER as MENTIONS
        from cercle.notifications import privacy as notifications
        from cercle.privacy.erasers import Keeper, register_keeper

        register_keeper(MENTIONS)
        register_keeper(
            Keeper(
                name="notifications",
                export=lambda p: notifications.export(
                    p.workspace_id, p.conversation_ids, p.message_ids
                ),
                erase=lambda p: notifications.erase(
                    p.workspace_id, p.conversation_ids, p.message_ids
                ),
                purge=notifications.purge,
            )
        )
