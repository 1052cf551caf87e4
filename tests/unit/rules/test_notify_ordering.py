"""Per-key ordering of notify's deliveries: work on one key waits for that key only, a
key's lock goes once nobody holds or waits for it, and a group's re-send is never
overtaken by the resolve that ends its incident while other groups go on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bitacora.processors.alerting.aggregate_stage import Aggregator
from bitacora.processors.alerting.keyed_lock import KeyedLock
from bitacora.rules.aggregation import group_key
from bitacora.rules.alerts import Alert
from bitacora.rules.loader import parse_rule_text
from bitacora.rules.model import Rule
from tests.unit.rules.test_aggregation_resolves import RULE, _alerts

DEADLINE_S = 10.0  # a deadline for a hung test, not a timing expectation


async def until(check: Callable[[], bool], what: str) -> None:
    """Let other tasks run until ``check`` holds (fails naming ``what`` after many turns)."""
    for _ in range(10_000):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def holder(locks: KeyedLock, key: str, release: asyncio.Event, log: list[str]) -> None:
    """Hold ``key``'s lock until ``release``; log entering."""
    async with locks.hold(key):
        log.append(f"in {key}")
        await release.wait()


def test_one_key_waits_for_its_holder_another_key_does_not() -> None:
    async def scenario() -> None:
        locks, log = KeyedLock(), []
        release = asyncio.Event()
        first = asyncio.create_task(holder(locks, "a", release, log))
        await until(lambda: log == ["in a"], "the first holder in")
        second = asyncio.create_task(holder(locks, "a", asyncio.Event(), log))
        await until(lambda: locks.users("a") == 2, "the second holder waiting")
        async with asyncio.timeout(DEADLINE_S), locks.hold("b"):
            log.append("in b")  # another key while "a" is held
        assert log == ["in a", "in b"]
        assert (locks.users("a"), locks.users("b"), len(locks)) == (2, 0, 1)
        release.set()
        await first
        await until(lambda: log[-1] == "in a", "the second holder in")
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        assert (log, len(locks)) == (["in a", "in b", "in a"], 0)

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_no_lock_behind() -> None:
    async def scenario() -> None:
        locks, log = KeyedLock(), []
        release = asyncio.Event()
        first = asyncio.create_task(holder(locks, "a", release, log))
        await until(lambda: log == ["in a"], "the first holder in")
        waiter = asyncio.create_task(holder(locks, "a", asyncio.Event(), log))
        await until(lambda: locks.users("a") == 2, "the waiter waiting")
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert (locks.users("a"), len(locks)) == (1, 1)
        release.set()
        await first
        assert (log, locks.users("a"), len(locks)) == (["in a"], 0, 0)

    asyncio.run(scenario())


def test_a_held_group_resend_delays_neither_other_groups_nor_comes_after_its_resolve() -> None:
    """While a group's re-send is held (a slow Alertmanager), another group is sent and
    resolved; the resolve ending the held group's incident waits and goes out after the
    re-send."""
    rule = parse_rule_text(RULE)  # aggregation_key service.name: one group per service
    a_fires, a_resolves = _alerts(rule, "svc-a")
    b_fires, b_resolves = _alerts(rule, "svc-b")
    log: list[tuple[str, str, str]] = []
    release = asyncio.Event()

    def recorder(what: str, held: bool) -> Callable[[Alert, Rule], Awaitable[None]]:
        async def record(alert: Alert, _rule: Rule) -> None:
            log.append((what, alert.status, alert.key))
            if held and alert.key == "svc-a":
                await release.wait()

        return record

    aggregator = Aggregator({}, {rule.name: rule}, recorder("send", held=False))
    a_group = group_key(a_fires, rule).encode()

    async def scenario() -> None:
        await aggregator.add(a_fires, rule, 100.0)
        await aggregator.flush(lambda _key: True, 400.0)
        assert log == [("send", "firing", "svc-a")]
        resending = asyncio.create_task(
            aggregator.resend_firing(lambda _key: True, recorder("resend", held=True))
        )
        await until(lambda: len(log) == 2, "svc-a's group re-sent")
        async with asyncio.timeout(DEADLINE_S):  # svc-b's group goes out meanwhile
            await aggregator.add(b_fires, rule, 401.0)
            await aggregator.flush(lambda _key: True, 701.0)
        assert log[1:] == [("resend", "firing", "svc-a"), ("send", "firing", "svc-b")]
        async with asyncio.timeout(DEADLINE_S):  # and svc-b's incident resolves meanwhile
            assert await aggregator.resolve(b_resolves, rule)
        assert log[3:] == [("send", "resolved", "svc-b")]
        resolving = asyncio.create_task(aggregator.resolve(a_resolves, rule))
        await until(lambda: aggregator.locks.users(a_group) == 2, "the resolve waiting")
        assert len(log) == 4
        release.set()
        assert await resolving
        await resending
        assert log[4:] == [("send", "resolved", "svc-a")]
        assert len(aggregator.locks) == 0

    asyncio.run(scenario())
