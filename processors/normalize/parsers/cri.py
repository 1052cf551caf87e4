"""CRI container log lines (``<RFC 3339 time> stdout|stderr F|P <payload>``) and joining.

The kubelet splits long lines into partial (``P``) pieces ended by a full (``F``) one.
Joining needs state across events, so :class:`CriJoiner` is a plain state object the agent
holds (one per worker) and feeds in arrival order; it never reads the clock itself.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from bitacora.rawrecord import RawRecord

_CRI = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)) (stdout|stderr) "
    r"([FP])(?::\S*)?(?: |$)",
)

Token = TypeVar("Token")


def split_cri(line: str) -> tuple[str, str, str, str] | None:
    """``(time, stream, tag, payload)`` of a CRI line, or None when it is not one."""
    if len(line) < 28 or line[4] != "-" or line[10] != "T":
        return None
    match = _CRI.match(line)
    if match is None:
        return None
    return match[1], match[2], match[3], line[match.end() :]


class _Pending:
    __slots__ = ("last", "parts", "prefix", "size", "started_ns", "tokens")

    def __init__(self, prefix: str, started_ns: int) -> None:
        self.prefix = prefix
        self.parts: list[str] = []
        self.size = 0
        self.started_ns = started_ns
        self.last: Any = None
        self.tokens: list[Any] = []


class CriJoiner(Generic[Token]):
    """Joins CRI partial lines per stream; bounded in bytes and in open streams.

    ``feed(key, line, now_ns)`` returns the line to process now: a non-CRI or full line
    unchanged, the joined line (``<first time> <stream> F <all payloads>``) when a
    partial run ends, or None while it is still open. A run larger than ``max_bytes`` is
    emitted early; runs idle longer than ``stale_ns`` (or evicted because more than
    ``max_streams`` are open) come out of ``flush_stale``. ``feed_record`` does the same
    for whole raw records and carries an opaque ``token`` per input (e.g. its Kafka
    message), returning the tokens of every piece of a run, so the caller acknowledges the
    inputs only once the joined event is safely out.
    """

    def __init__(
        self, max_bytes: int = 1 << 20, max_streams: int = 10_000, stale_ns: int = 5_000_000_000
    ) -> None:
        self.max_bytes = max_bytes
        self.max_streams = max_streams
        self.stale_ns = stale_ns
        self._open: dict[Hashable, _Pending] = {}
        self._evicted: list[tuple[Hashable, _Pending]] = []

    def __len__(self) -> int:
        return len(self._open)

    def _add(self, key: Hashable, time: str, stream: str, payload: str, now_ns: int) -> _Pending:
        pending = self._open.get(key)
        if pending is None:
            if len(self._open) >= self.max_streams:
                oldest = next(iter(self._open))
                self._evicted.append((oldest, self._open.pop(oldest)))
            pending = self._open[key] = _Pending(f"{time} {stream} F ", now_ns)
        pending.parts.append(payload)
        pending.size += len(payload)
        return pending

    def feed(self, key: Hashable, line: str, now_ns: int = 0) -> str | None:
        """The line to normalize now, or None while a partial run is open."""
        parts = split_cri(line)
        if parts is None:
            return line
        time, stream, tag, payload = parts
        full_key = (key, stream)
        if tag == "F" and full_key not in self._open:
            return line
        pending = self._add(full_key, time, stream, payload, now_ns)
        if tag == "F" or pending.size >= self.max_bytes:
            del self._open[full_key]
            return pending.prefix + "".join(pending.parts)
        return None

    def feed_record(
        self, raw: RawRecord, token: Token, now_ns: int = 0
    ) -> tuple[RawRecord, list[Token]] | bool:
        """Record-level ``feed``: True when ``raw`` is to be normalized now as it is (no
        piece of a run: most records), the joined record and its pieces' tokens when a run
        ends, or False while it is still open.

        Understands the CRI line inside ``log``/``message`` and Fluent Bit's cri parser
        shape (``logtag`` P/F next to ``log``/``message``). The key is the tag plus the
        Kubernetes pod/container (or Docker container id) plus the stream.
        """
        record = raw.record
        field = "log" if type(record.get("log")) is str else "message"
        body = record.get(field)
        if type(body) is not str:
            return True
        logtag = record.get("logtag")
        if type(logtag) is str and (logtag == "P" or logtag == "F"):
            stream = str(record.get("stream", ""))
            time, tag, payload, inline = "", logtag, body, False
        else:
            parts = split_cri(body)
            if parts is None:
                return True
            time, stream, tag, payload = parts
            inline = True
        key = (raw.tag, _source_of(record), stream)
        if tag == "F" and key not in self._open:
            return True
        pending = self._add(key, time, stream, payload, now_ns)
        pending.last = (raw, field, inline)
        pending.tokens.append(token)
        if tag == "F" or pending.size >= self.max_bytes:
            del self._open[key]
            return _joined(pending)
        return False

    def flush_stale(self, now_ns: int) -> list[tuple[Hashable, Any]]:
        """Runs idle since ``now_ns - stale_ns`` (and evicted ones), joined.

        Each item is ``(key, joined line)`` for runs fed with ``feed`` and
        ``(key, (raw record, tokens))`` for runs fed with ``feed_record``.
        """
        out: list[tuple[Hashable, Any]] = []
        stale = [k for k, p in self._open.items() if now_ns - p.started_ns >= self.stale_ns]
        done = self._evicted + [(k, self._open.pop(k)) for k in stale]
        self._evicted = []
        for key, pending in done:
            if pending.last is None:
                out.append((key, pending.prefix + "".join(pending.parts)))
            else:
                out.append((key, _joined(pending)))
        return out


def _source_of(record: dict[Any, Any]) -> Hashable:
    kube = record.get("kubernetes")
    if type(kube) is dict:
        return (
            str(kube.get("namespace_name")),
            str(kube.get("pod_name")),
            str(kube.get("container_name")),
        )
    return str(record.get("container_id") or record.get("container_name") or "")


def _joined(pending: _Pending) -> tuple[RawRecord, list[Any]]:
    raw, field, inline = pending.last
    text = "".join(pending.parts)
    record = dict(raw.record)
    if inline:
        record[field] = pending.prefix + text
    else:
        record[field] = text
        record["logtag"] = "F"
    return raw._replace(record=record), pending.tokens
