"""bitacora/kafkacodec.py: the producers' batch codec and zstd level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cramjam
import pytest
from aiokafka.record.default_records import (
    DefaultRecordBatchBuilder,
    _DefaultRecordBatchBuilderPy,
)
from pydantic import ValidationError

from bitacora import kafkacodec
from bitacora.settings import Settings


def _zstd_batch(builder: type[Any]) -> tuple[bytes, bytes]:
    """A record batch built uncompressed and zstd-compressed by one of aiokafka's builders:
    its first 61 bytes are the batch header, the rest its records (compressed or not)."""

    def build(codec: int) -> bytes:
        batch = builder(
            magic=2,
            compression_type=codec,
            is_transactional=0,
            producer_id=-1,
            producer_epoch=-1,
            base_sequence=-1,
            batch_size=1 << 20,
        )
        for offset in range(300):
            line = b'{"message":"order %d placed","service.name":"checkout"}\n' % offset
            batch.append(offset, timestamp=1, key=None, value=line * 8, headers=[])
        return bytes(batch.build())

    return build(0)[61:], build(4)[61:]  # 4: zstd, in the batch attributes


@pytest.fixture
def default_zstd_level() -> Iterator[None]:
    yield
    kafkacodec.use_zstd_level(Settings().kafka_zstd_level)


@pytest.mark.usefixtures("default_zstd_level")
@pytest.mark.parametrize("level", [1, 3, 9, -5])
@pytest.mark.parametrize(
    "builder", [DefaultRecordBatchBuilder, _DefaultRecordBatchBuilderPy], ids=["cython", "python"]
)
def test_producers_compress_zstd_batches_at_kafka_zstd_level(
    level: int, builder: type[Any]
) -> None:
    # Every producer gets its codec from compression_type (faust's too), which sets the level.
    assert kafkacodec.compression_type(Settings(kafka_zstd_level=level)) == "zstd"
    records, compressed = _zstd_batch(builder)
    assert compressed == bytes(cramjam.zstd.compress(records, level=level))
    assert bytes(cramjam.zstd.decompress(compressed)) == records


def test_the_default_zstd_level_is_1_and_levels_are_zstds() -> None:
    assert Settings().kafka_zstd_level == 1
    with pytest.raises(ValidationError, match="kafka_zstd_level"):
        Settings(kafka_zstd_level=23)
