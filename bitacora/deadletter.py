"""Dead letters, pure: what cannot be normalized or indexed, with its reason and original.

One record shape serves twice: it is the JSON value on the ``logs.deadletter`` topic and,
unchanged, the document indexed into ``bitacora-deadletter``
(processors/storage/templates.py). The collector and the processors both write it. The
original payload is kept so an operator can fix the cause and replay it, but only after
redaction (bitacora/redact.py): secrets must not reach dead letters any more than the logs
(RELIABILITY #13).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from bitacora.redact import CustomPatterns, compile_patterns
from bitacora.redact import redact as redact_text

if TYPE_CHECKING:
    from bitacora.settings import Settings

# Kafka's default max.message.bytes is about 1 MB and base64 grows data by a third: an
# original larger than this is cut (and flagged), the record still fits in one message.
MAX_ORIGINAL_BYTES: Final = 256 * 1024
# The reason of an event too large for one Kafka record (Kafka would refuse it forever).
TOO_LARGE: Final = "record_too_large"
# Redaction runs on a little more than is kept, so a secret straddling the cut is still
# recognised as a whole and removed rather than left as an unrecognisable prefix.
_REDACT_MARGIN: Final = 4096
MAX_REASON_CHARS: Final = 8192

_ERROR_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

Redactor = Callable[[str], str]


def redactor_for(settings: Settings | None = None) -> Redactor:
    """The redaction (bitacora/redact.py) as a one-argument function.

    With ``settings``, its ``redact_patterns`` apply too; without, the built-in patterns.
    Build it once per worker: it compiles the configured patterns.
    """
    patterns = () if settings is None else compile_patterns(settings.redact_patterns)
    return functools.partial(redact_text, config=CustomPatterns(patterns))


_DEFAULT_REDACTOR: Final = redactor_for(None)


def _iso_ms(now_ns: int) -> str:
    return (
        datetime.fromtimestamp(now_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{now_ns // 1_000_000 % 1000:03d}Z"
    )


def error_type_of(reason: str) -> str:
    """The leading ``type`` of ``"type: details"`` reasons (``mapper_parsing_exception``...)."""
    head = reason.split(":", 1)[0].strip()
    return head if _ERROR_TYPE.fullmatch(head) else "error"


def encode_original(
    original: bytes, redact: Redactor, max_bytes: int = MAX_ORIGINAL_BYTES
) -> tuple[str, str, bool]:
    """``(text, encoding, truncated)``: the redacted original, as text or as base64.

    Valid UTF-8 stays readable text (``"utf-8"``). Anything else (msgpack raw records,
    broken encodings) is decoded with ``surrogateescape`` so the redaction patterns still see
    every ASCII run, then re-encoded to the exact bytes minus the redacted spans and stored
    as ``"base64"``. Redaction may break a binary framing (a msgpack length prefix):
    removing the secret matters more than a byte-exact replay.
    """
    truncated = len(original) > max_bytes
    window = original[: max_bytes + _REDACT_MARGIN] if truncated else original
    try:
        original.decode("utf-8")
    except UnicodeDecodeError:
        binary = redact(window.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
        if truncated:
            binary = binary[:max_bytes]
        return base64.b64encode(binary).decode("ascii"), "base64", truncated
    # "ignore" only drops a character cut in half at the end of the window.
    text = redact(window.decode("utf-8", "ignore"))
    if truncated:
        text = text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    return text, "utf-8", truncated


def deadletter_record(
    *,
    stage: str,
    reason: str,
    original: bytes,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    dataset: str | None,
    now_ns: int,
    event_id: str | None = None,
    error_type: str | None = None,
    redact: Redactor | None = None,
    max_original_bytes: int = MAX_ORIGINAL_BYTES,
) -> dict[str, Any]:
    """The dead-letter document for a payload that failed at ``stage`` for ``reason``.

    ``stage`` is where it failed (``"normalize"``, ``"index"``); ``topic``/``partition``/
    ``offset`` say where the original was read (None when unknown); ``dataset`` is the
    event's ``event.dataset`` when known. ``reason`` is redacted too: OpenSearch quotes the
    offending value in it. ``redact`` defaults to the built-in patterns; pass
    ``redactor_for(settings)`` so the configured ``redact_patterns`` apply as well.
    """
    redactor = redact if redact is not None else _DEFAULT_REDACTOR
    text, encoding, truncated = encode_original(original, redactor, max_original_bytes)
    clean_reason = redactor(reason[:MAX_REASON_CHARS])
    deadletter: dict[str, Any] = {
        "stage": stage,
        "error_type": error_type or error_type_of(reason),
        "reason": clean_reason,
        "original": text,
        "original_encoding": encoding,
        "original_bytes": len(original),
        "original_truncated": truncated,
    }
    if topic is not None:
        deadletter["topic"] = topic
    if partition is not None:
        deadletter["partition"] = partition
    if offset is not None:
        deadletter["offset"] = offset
    event: dict[str, Any] = {}
    if dataset is not None:
        event["dataset"] = dataset
    if event_id is not None:
        event["id"] = event_id
    record: dict[str, Any] = {"@timestamp": _iso_ms(now_ns), "deadletter": deadletter}
    if event:
        record["event"] = event
    return record
