"""The health vocabulary every dependency reports in (directories, delivery channels)."""

from dataclasses import dataclass
from enum import StrEnum


class HealthState(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class Health:
    state: HealthState
    detail: str = ""  # a short code, never an error string from the dependency
