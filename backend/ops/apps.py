from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OpsConfig(AppConfig):
    name = "ops"

    def ready(self) -> None:
        from ops import resume_queries

        connection_created.connect(resume_queries.install_on, dispatch_uid="ops.resume_queries")
