"""One ``asyncio.Lock`` per key: work on one alert key (or aggregation group) is ordered,
work on different keys never waits on each other.

A key's lock exists only while someone holds it or waits for it, so the number of locks
stays bounded by the work in flight, not by the number of keys ever seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holders and waiters


class KeyedLock:
    """Locks by key, created on demand and dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block (first come, first served per key)."""
        entry = self._entries.setdefault(key, _Entry())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]

    def users(self, key: Hashable) -> int:
        """How many hold or wait for ``key``'s lock."""
        entry = self._entries.get(key)
        return 0 if entry is None else entry.users

    def __len__(self) -> int:
        """The number of keys held or waited for."""
        return len(self._entries)
