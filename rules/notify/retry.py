"""Retries with exponential backoff and jitter that honour ``Retry-After``.

A destination raises ``DestinationError``; 4xx answers other than 408/425/429 are
permanent (retrying cannot help), everything else is retried. After the last attempt the
error propagates: the caller keeps the alert and retries it later, it is never dropped.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from bitacora.errors import DeliveryError

Sleep = Callable[[float], Awaitable[None]]


class DestinationError(DeliveryError):
    """A destination refused or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, float(parsedate_to_datetime(value).timestamp()) - now)
    except (TypeError, ValueError):
        return None


def is_permanent(status: int) -> bool:
    """4xx answers (but timeouts, too-early and rate limits) will fail again the same way."""
    return 400 <= status < 500 and status not in (408, 425, 429)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one delivery tries before the alert is handed back for a later retry."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A longer Retry-After is not waited for in the call: the alert is handed back (and
    # retried later, not before that time) so one slow destination cannot stall the rest.
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None, rand: float | None = None) -> float:
        """Wait before attempt ``attempt + 1``: at least ``Retry-After`` when given."""
        spread: float = 1.0 + self.jitter * (random.random() if rand is None else rand)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + self.base_delay * (spread - 1.0)
        return min(self.max_delay, self.base_delay * 2.0**attempt) * spread


async def with_retries(
    send: Callable[[], Awaitable[None]], policy: RetryPolicy, sleep: Sleep = asyncio.sleep
) -> None:
    """Run ``send`` until it succeeds, fails permanently, or the attempts run out."""
    for attempt in range(policy.attempts):
        try:
            await send()
            return
        except DestinationError as exc:
            if exc.permanent or attempt == policy.attempts - 1:
                raise
            if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
                raise
            await sleep(policy.delay(attempt, exc.retry_after))
