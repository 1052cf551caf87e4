"""How the producers compress their record batches: the codec, and zstd's level.

Every producer (aiokafka's, made in :mod:`bitacora.clients`, and the faust app's) takes its
codec from :func:`compression_type`, which also sets the zstd level aiokafka uses.
"""

from __future__ import annotations

from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING

from aiokafka import codec
from aiokafka.record import default_records

if TYPE_CHECKING:
    from bitacora.settings import Settings

try:  # the builder aiokafka uses when its extensions are built (they are, on PyPI's wheels)
    from aiokafka.record._crecords import default_records as c_default_records
except ImportError:  # pragma: no cover - AIOKAFKA_NO_EXTENSIONS or a source build without them
    _RECORD_BUILDERS: tuple[ModuleType, ...] = (default_records,)
else:
    _RECORD_BUILDERS = (c_default_records, default_records)


def compression_type(settings: Settings) -> str | None:
    """The producers' batch compression (``kafka_compression``) as aiokafka and faust take
    it: a codec name, or None for uncompressed. Sets aiokafka's zstd level too
    (:func:`use_zstd_level`): every producer, faust's included, gets its codec here."""
    use_zstd_level(settings.kafka_zstd_level)
    return None if settings.kafka_compression == "none" else settings.kafka_compression


def use_zstd_level(level: int) -> None:
    """Make aiokafka compress zstd batches at ``level`` (``kafka_zstd_level``), in this process.

    aiokafka has no option for it: its record batch builders (the Cython one it uses and
    the pure-Python fallback) call their module's ``zstd_encode`` without a level, which
    then means 3. Rebinding that name to the same encoder with ``level`` is the whole
    change; the batches are standard zstd frames whatever the level, so brokers and
    consumers read them as before. Process-wide, like the settings that ask for it.
    """
    encode = partial(codec.zstd_encode, level=level)
    for module in _RECORD_BUILDERS:
        vars(module)["zstd_encode"] = encode
