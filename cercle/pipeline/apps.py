from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "cercle.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        # The inbox writes Outbox rows; the sender is woken through this signal, not an import.
        from cercle.inbox.signals import outbox_written
        from cercle.pipeline.tasks import wake_sender

        outbox_written.connect(wake_sender, dispatch_uid="pipeline.wake_sender")

        # Connectors that refresh tokens inline hand them to the one action that stores them.
        from cercle.connectors.state import set_credentials_store
        from cercle.pipeline.actions import do_store_credentials

        set_credentials_store(lambda channel, tokens: do_store_credentials(channel, tokens))
