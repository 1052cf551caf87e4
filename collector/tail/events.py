"""Pure: log events read from a file or a pipe → raw Kafka records (and dead letters).

Every line becomes the same raw record the forward and HTTP inputs write: a plain line is
``{"log": <line>}`` (the normalizer parses it like any other ``log`` field), a JSON line
sent with ``--json`` is its own object. ``log.file.path`` names the file it came from; a
line cut at the length cap carries ``truncated: true``. The event id is built from the
file's id token and the line's byte offset (``chunk``, ``position``), so reading the same
bytes again gives the same ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from bitacora.collector.records import deadletter, raw_records, split_oversized
from bitacora.collector.tail.lines import LineEvent
from bitacora.deadletter import TOO_LARGE
from bitacora.errors import ConfigError

FILE_PATH_FIELD: Final = "log.file.path"
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_service(name: str) -> str:
    """``name`` when usable as a service (and the tag's first part), else ConfigError."""
    if not _SERVICE_NAME.fullmatch(name):
        raise ConfigError(
            f"service {name!r}: use letters, digits, '-' and '_' (it becomes the tag's first part)"
        )
    return name


def service_for_path(path: str) -> str:
    """The service of a file without ``--service``: its name before the first dot.

    ``/var/log/system-health.log`` → ``system-health``; anything unusable → ``file``.
    """
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", stem).strip("-_")
    return cleaned or "file"


def line_record(event: LineEvent, path: str | None, *, as_json: bool) -> dict[str, Any] | None:
    """The record for one event; None when ``as_json`` and the line is no JSON object."""
    text = event.text.decode("utf-8", "surrogateescape")
    record: dict[str, Any]
    if as_json:
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if type(parsed) is not dict:
            return None
        record = parsed
    else:
        record = {"log": text}
    if path is not None:
        record[FILE_PATH_FIELD] = path
    if event.truncated:
        record["truncated"] = True
    return record


def build_records(
    events: Sequence[LineEvent],
    *,
    tag: str,
    chunk: str,
    path: str | None,
    as_json: bool,
    received_ns: int,
    peer: str,
    transport: str,
    record_limit: int,
) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, bytes]]]:
    """(Kafka records, (reason, dead letter)s) for ``events``; ids from ``chunk`` and byte
    offsets.

    Lines that are not JSON objects under ``as_json`` and records over ``record_limit``
    become dead letters (``bad_json``, ``record_too_large``) rather than blocking the input.
    """
    entries: list[tuple[int, dict[str, Any]]] = []
    offsets: list[int] = []
    letters: list[tuple[str, bytes]] = []
    for event in events:
        record = line_record(event, path, as_json=as_json)
        if record is None:
            letter = deadletter("bad_json", event.text, tag, received_ns, peer, transport)
            letters.append(("bad_json", letter))
            continue
        # Time 0: the normalizer takes the line's own time when it has one, else arrival.
        entries.append((0, record))
        offsets.append(event.offset)
    records = raw_records(tag, entries, received_ns, peer, transport, chunk, positions=offsets)
    records, too_large = split_oversized(records, record_limit)
    letters += [
        (TOO_LARGE, deadletter(TOO_LARGE, v, tag, received_ns, peer, transport)) for v in too_large
    ]
    return records, letters
