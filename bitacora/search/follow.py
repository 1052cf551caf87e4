"""The bookkeeping of ``--tail``: which events were shown, where the next poll starts.

Events reach OpenSearch out of order (several processors, bulk batches, refresh every
second), so a poll that only asked for events *after the last one shown* would miss an
event indexed late with a slightly older ``@timestamp``. Each poll therefore re-reads an
overlap window below the newest timestamp seen, and a set of the event ids already shown
within that window drops the repeats. Ids older than the window can never come back
from a poll, so they are forgotten: the set stays as small as the window's traffic.
An event indexed later than ``overlap`` after its own timestamp is the one case missed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass
class FollowState:
    """Cursor and seen-id set of one ``--tail`` session (pure; the shell polls)."""

    cursor_ns: int
    overlap_ns: int = 10 * 1_000_000_000
    max_seen: int = 100_000
    _seen: set[str] = field(default_factory=set)
    _by_time: list[tuple[int, str]] = field(default_factory=list)

    @property
    def window_start_ns(self) -> int:
        """Where the next poll starts reading: the newest timestamp seen minus the overlap."""
        return self.cursor_ns - self.overlap_ns

    def accept(self, event_id: str, timestamp_ns: int) -> bool:
        """True the first time an event is offered (show it), False for a repeat."""
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        heapq.heappush(self._by_time, (timestamp_ns, event_id))
        if timestamp_ns > self.cursor_ns:
            self.cursor_ns = timestamp_ns
        return True

    def prune(self) -> None:
        """Forget ids below the window, and the oldest ones beyond ``max_seen``."""
        start = self.window_start_ns
        while self._by_time and (self._by_time[0][0] < start or len(self._by_time) > self.max_seen):
            _, event_id = heapq.heappop(self._by_time)
            self._seen.discard(event_id)

    def __len__(self) -> int:
        return len(self._seen)
