"""The embedded set-up's database engine: Django's SQLite, with writers queued in-process.

See ``base.py``.
"""
