from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryAppConfig(AppConfig):
    """The on-premises directory's settings and sync state (``models``), and ``opensspr sync``.

    The connectors in ``directory.ldap`` stay free of Django; this app config
    only makes the models and the management command known.
    """

    name = "opensspr.directory"
    label = "directory"
    verbose_name = _("On-premises directory")
