"""Challenges that have already been redeemed, so that none verifies twice.

One row per accepted captcha solution, keyed by a keyed digest of the
challenge's signature (never the payload itself). The unique constraint is the
single-use guarantee: two processes accepting the same solution at once both
try to insert, and the database lets exactly one of them win. A row is only
needed until its challenge expires; after that the expiry check rejects the
challenge on its own and the row may be purged.
"""

from django.db import models


class UsedChallenge(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"used captcha {self.digest[:8]}"
