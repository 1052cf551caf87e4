"""Process-wide counters by component and reason (dropped, dead-lettered, indexed, ...).

Plain dict arithmetic: cheap enough for the hot path, exported as Prometheus text by
:func:`prometheus_text` for the processor's status endpoint.
"""

from __future__ import annotations

from collections import Counter
from threading import Lock


class Counters:
    """Monotonic counters keyed by (component, name, reason)."""

    def __init__(self) -> None:
        self._values: Counter[tuple[str, str, str]] = Counter()
        self._lock = Lock()

    def add(self, component: str, name: str, reason: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter."""
        with self._lock:
            self._values[(component, name, reason)] += amount

    def get(self, component: str, name: str, reason: str) -> int:
        """The counter's current value (0 when never touched)."""
        return self._values[(component, name, reason)]

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._values)

    def prometheus_text(self) -> str:
        """The counters in Prometheus exposition format."""
        lines = ["# TYPE bitacora_processor_total counter"]
        for (component, name, reason), value in sorted(self.snapshot().items()):
            lines.append(
                f'bitacora_processor_total{{component="{component}",name="{name}",'
                f'reason="{reason}"}} {value}'
            )
        return "\n".join(lines) + "\n"


COUNTERS = Counters()
