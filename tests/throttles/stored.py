"""Reading and planting the uses a subject row keeps (``Subject.uses``), for tests."""

from datetime import datetime

from opensspr.throttles import uses
from opensspr.throttles.models import Subject


def count_uses(
    *,
    rule: str | None = None,
    rule_suffix: str | None = None,
    scope: str | None = None,
    key: str | None = None,
) -> int:
    """Counted uses kept in the database, of ``rule`` (or rules ending ``rule_suffix``), in
    ``scope`` and of the subject ``key`` (a stored digest) where given."""
    rows = Subject.objects.all()
    if scope is not None:
        rows = rows.filter(scope=scope)
    if key is not None:
        rows = rows.filter(key=key)
    return sum(
        (rule is None or name == rule) and (rule_suffix is None or str(name).endswith(rule_suffix))
        for stored in rows.values_list("uses", flat=True)
        for name, _at in stored.values()
    )


def add_use(subject: Subject, rule: str, at: datetime) -> None:
    subject.uses[uses.new_token()] = [rule, uses.stamp(at)]
    subject.save(update_fields=["uses"])
