import os

from opensspr.core.handler import get_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opensspr.config.settings")
application = get_application()
