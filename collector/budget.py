"""Bounded in-flight work shared by every source: stop reading instead of buffering."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class ByteBudget:
    """A FIFO counting semaphore over bytes: ``acquire`` waits while the budget is spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def acquire(self, amount: int) -> int:
        """Take ``amount`` (capped at the limit) once it fits; returns what was taken."""
        amount = min(amount, self.limit)
        if not self._waiters and self.used + amount <= self.limit:
            self.used += amount  # fast path: no waiting, no lock
            return amount
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((amount, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(amount)  # granted just as we were cancelled: give it back
            else:
                with contextlib.suppress(ValueError):  # release() may have dropped it
                    self._waiters.remove((amount, waiter))
            raise
        return amount

    def release(self, amount: int) -> None:
        """Give ``amount`` back and grant waiting acquirers in order."""
        self.used -= amount
        while self._waiters:
            wanted, waiter = self._waiters[0]
            if waiter.cancelled():
                self._waiters.popleft()
                continue
            if self.used + wanted > self.limit:
                break
            self._waiters.popleft()
            self.used += wanted
            waiter.set_result(None)
