from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "cercle.connectors"
    label = "connectors"

    def ready(self) -> None:
        # No log line carries a secret Cercle decrypted (platform tokens), nor a credential-shaped
        # value (core.redact): installed by the app that holds the platforms' secrets.
        from cercle.core.redact import install_log_redaction

        install_log_redaction()
