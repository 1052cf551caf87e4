"""The alerting role's faust app: how its producer is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitacora.processors.app import Role, create_app
from bitacora.settings import KafkaCompression, Settings


@pytest.mark.parametrize(
    ("compression", "expected"),
    [("zstd", "zstd"), ("lz4", "lz4"), ("gzip", "gzip"), ("snappy", "snappy"), ("none", None)],
)
def test_the_faust_producer_compresses_as_kafka_compression_says(
    compression: KafkaCompression, expected: str | None, tmp_path: Path
) -> None:
    settings = Settings(kafka_compression=compression, processor_data_dir=tmp_path)
    app = create_app(settings, Role.ALERTING)
    assert app.conf.producer_compression_type == expected
    # What faust's producer hands aiokafka (its ``compression_type`` option).
    assert app.producer.compression_type == expected
