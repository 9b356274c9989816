"""Strings Django shows on our pages that its own Dutch catalogue doesn't translate yet.

Django 6.1 labels an empty choice "- Select an option -" (``BLANK_CHOICE_LABEL``);
its ``nl`` catalogue has no entry for it, so every console select read English in
Dutch. Marked here, the string is extracted into our catalogue, and ours is read
before Django's (``LOCALE_PATHS``). Drop an entry once Django ships it.
"""

from django.utils.translation import gettext_noop

UPSTREAM = (gettext_noop("- Select an option -"),)
