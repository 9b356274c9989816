from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsAppConfig(AppConfig):
    """On-premises agents: enrolment, the job queue they dial out to, and their status.

    The agent itself is the separate ``opensspr_agent`` package; this app is
    the server's half. It plugs into the directory app as the "agent"
    transport, so the directory never imports it.
    """

    name = "opensspr.agents"
    label = "agents"
    verbose_name = _("On-premises agents")

    def ready(self) -> None:
        from opensspr.agents.connector import (  # noqa: PLC0415 (app registry)
            AgentDirectory,
            AgentReader,
        )
        from opensspr.agents.housekeeping import prune_finished  # noqa: PLC0415 (app registry)
        from opensspr.channels import register_due_work  # noqa: PLC0415 (app registry)
        from opensspr.directory.onprem import register_transport  # noqa: PLC0415 (as above)
        from opensspr.directory.sync import register_reader  # noqa: PLC0415 (as above)

        register_transport("agent", AgentDirectory.for_settings)
        register_reader("agent", AgentReader.for_settings)
        register_due_work(prune_finished)
