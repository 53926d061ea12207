from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "cercle.inbox"
    label = "inbox"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .search import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="inbox-sqlite-search")
