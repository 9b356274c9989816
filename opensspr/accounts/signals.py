"""Signals the domain apps send about people, for the apps that keep something about them.

``people_changed``: something that decides whether a person can reset, or what
they registered, changed in a way model signals don't show (``update()``,
``bulk_create()``, the directory sync's batched writes). Send it with
``user_ids`` (the people concerned) or ``user_ids=None`` (anyone may be
concerned: the nesting of groups changed). ``reports.receivers`` listens, to
decide those people's registration again; the senders don't need to know.
"""

from django.dispatch import Signal

people_changed = Signal()
