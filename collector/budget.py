"""Bounded in-flight work shared by every source: stop reading instead of buffering."""

from __future__ import annotations

import asyncio


class ByteBudget:
    """A counting semaphore over bytes: ``acquire`` waits while the budget is spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._freed = asyncio.Condition()

    async def acquire(self, amount: int) -> int:
        """Take ``amount`` (capped at the limit) once it fits; returns what was taken."""
        amount = min(amount, self.limit)
        async with self._freed:
            await self._freed.wait_for(lambda: self.used + amount <= self.limit)
            self.used += amount
        return amount

    async def release(self, amount: int) -> None:
        """Give ``amount`` back and wake the waiters."""
        async with self._freed:
            self.used -= amount
            self._freed.notify_all()
