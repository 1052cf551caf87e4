"""A batch role whose start fails stops cleanly, closing only what it opened."""

from __future__ import annotations

import pytest

from bitacora.processors.shell.batch import BatchHandler, BatchRole
from bitacora.settings import Settings


class _Role(BatchRole):
    def __init__(self) -> None:
        super().__init__(
            Settings(kafka_bootstrap="127.0.0.1:9"),
            name="t",
            topics=["t"],
            max_records=1,
            within_s=0.1,
        )
        self.closed = 0

    async def open_handler(self) -> BatchHandler:
        raise RuntimeError("handler failed")

    async def close_handler(self) -> None:
        self.closed += 1


async def test_stop_after_a_failed_open_closes_nothing() -> None:
    role = _Role()
    with pytest.raises(RuntimeError, match="handler failed"):
        await role.on_start()
    await role.on_stop()
    assert role.closed == 0
