"""The normalize stage without faust: Kafka messages in, records to produce and inputs done out.

Pure apart from the clock it is given. It decodes raw records, joins CRI partial lines
(:class:`~processors.normalize.CriJoiner`), normalizes, and dead-letters what cannot be
normalized. A call's events go out as bundles: per service, one ``logs.normalized`` record
of ``_bulk`` lines (:mod:`processors.storage.bulk`) holding them in order, split only
where a record would exceed the record limit. An input is *done* (its offset may be
committed) only once every record made from it is in the outputs: a partial line stays
pending until its run is joined, so a crash never commits a piece whose joined event was
not produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, NamedTuple, Protocol, TypeVar

from bitacora import bundles, rawrecord, schema
from bitacora.bundles import action_head, bulk_line
from bitacora.deadletter import TOO_LARGE, deadletter_record, redactor_for
from bitacora.errors import DecodeError
from bitacora.processors.normalize import CriJoiner, NormalizeConfig, normalize_json, to_json_bytes
from bitacora.processors.shell.counters import COUNTERS
from bitacora.settings import Settings

ID_HEADER = "id"  # the event id of a one-document record (before bundles; dead letters)


class Message(Protocol):
    """What the stage reads of a Kafka message."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


Where = tuple[str, int, int]  # an input's topic, partition and offset


class Source:
    """An input record's value and its events' own bytes (what a dead letter keeps), cut
    from it only when first asked: a bundle read in one call has no cut made."""

    def __init__(
        self, data: bytes, headers: Sequence[tuple[str, bytes]], pieces: list[bytes] | None
    ) -> None:
        self.data = data
        self.headers = headers
        self.pieces = pieces

    def piece(self, index: int) -> bytes:
        """The bytes of the record's event at ``index``, as ``rawrecord.events_of`` cuts them."""
        if self.pieces is None:
            self.pieces = [value for value, _ in rawrecord.events_of(self.data, self.headers)]
        return self.pieces[index]


class Slot:
    """One event of an input record: where the record was read, the event's place in it
    (``index``, in a bundle) and the record (its :class:`Source`, which gives the
    event's own bytes)."""

    def __init__(self, where: Where, key: bytes | None, index: int, source: Source) -> None:
        self.where = where
        self.key = key
        self.index = index
        self.source = source

    @property
    def value(self) -> bytes:
        """The event's own bytes."""
        return self.source.piece(self.index)


Token = TypeVar("Token")


class Output(NamedTuple):
    """A record to produce (a tuple: one is built per bundle or dead letter)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] | None = None
    partition: int | None = None  # else the key's default partition


class Step(Generic[Token]):
    """What one call produced: records to send, then inputs to acknowledge."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []
        self.done: list[Token] = []
        self.letters = 0  # how many of ``outputs`` are dead letters
        self.events = 0  # normalized events in ``outputs``' bundles
        # Bulk lines per service (its name, the records' key), until
        # :meth:`NormalizeStage.seal` bundles them.
        self.lines: dict[str, list[bytes]] = {}


class NormalizeStage(Generic[Token]):
    """Normalizes batches of raw records; holds open CRI partial runs between batches."""

    def __init__(self, settings: Settings) -> None:
        self.config = NormalizeConfig.from_settings(settings)
        self.normalized_topic = settings.topic_normalized
        self.deadletter_topic = settings.topic_deadletter
        self.redact = redactor_for(settings)
        self.record_limit = settings.kafka_record_limit  # larger: dead-lettered, not stuck
        self.joiner: CriJoiner[Slot] = CriJoiner()
        self._heads: dict[str, bytes] = {}  # service name → its stream's action head
        # Per input (topic, partition, offset), oldest first: its events inside open CRI
        # runs, plus one while the input is being read; its token, until it is done.
        self._open: dict[Where, int] = {}
        self._tokens: dict[Where, Token] = {}

    def process(self, items: list[tuple[Token, Message]], now_ns: int) -> Step[Token]:
        """Normalize ``(token, message)`` pairs; stale partial runs are flushed too.

        A message's token is done once each of its events is in the outputs (normalized or
        dead-lettered): at once, or when the last CRI run holding one of them is emitted.
        """
        step: Step[Token] = Step()
        open_ = self._open
        for token, message in items:
            where: Where = (message.topic, message.partition, message.offset)
            open_[where] = open_.get(where, 0) + 1
            self._tokens[where] = token
            raws, own = rawrecord.read_events(message.value, message.headers)
            source = Source(message.value, message.headers, own)
            for index, raw in enumerate(raws):
                slot = Slot(where, message.key, index, source)
                if isinstance(raw, DecodeError):
                    self._deadletter(step, slot, str(raw), now_ns)
                    continue
                joined = self.joiner.feed_record(raw, slot, now_ns)
                if joined is True:
                    self._emit(step, raw=raw, last=slot, now_ns=now_ns)
                elif joined is False:
                    open_[where] += 1
                else:
                    pieces = joined[1]
                    self._emit(step, raw=joined[0], last=pieces[-1], now_ns=now_ns)
                    for held in pieces[:-1]:  # the last one is this event, never held
                        self._release(step, held.where)
            self._release(step, where)
        self.flush(step, now_ns)
        self.seal(step)
        return step

    def flush(self, step: Step[Token], now_ns: int) -> None:
        """Emit partial runs idle for longer than the joiner's ``stale_ns`` as they are."""
        for _key, (raw, pieces) in self.joiner.flush_stale(now_ns):
            self._emit(step, raw=raw, last=pieces[-1], now_ns=now_ns)
            for held in pieces:
                self._release(step, held.where)

    def _release(self, step: Step[Token], where: Where) -> None:
        left = self._open[where] - 1
        if left:
            self._open[where] = left
        else:
            del self._open[where]
            step.done.append(self._tokens.pop(where))

    def seal(self, step: Step[Token]) -> None:
        """Turn the step's bulk lines into ``logs.normalized`` records, per service key."""
        for service, lines in step.lines.items():
            key = service.encode()
            for value, events in bundles.join(lines, self.record_limit):
                step.outputs.append(
                    Output(self.normalized_topic, key, value, bundles.header(events))
                )
                step.events += events
        step.lines = {}

    def _emit(self, step: Step[Token], raw: rawrecord.RawRecord, last: Slot, now_ns: int) -> None:
        try:
            _topic, partition, offset = last.where
            doc, value = normalize_json(raw, partition, offset, self.config, last.index)
        except DecodeError as exc:
            self._deadletter(step, last, str(exc), now_ns)
            return
        # By name, not by the key's bytes: the name's hash is cached, the bytes would be new.
        service: str = doc["service.name"]
        head = self._heads.get(service)
        if head is None:
            if len(self._heads) >= 4096:  # services come and go: bound the cache
                self._heads.clear()
            head = self._heads[service] = action_head(schema.logs_stream_for(service))
        line = bulk_line(head, doc["event.id"], value)
        if len(line) > self.record_limit:
            reason = f"{TOO_LARGE}: normalized to {len(line)} bytes, over {self.record_limit}"
            self._deadletter(step, last, reason, now_ns)
            return
        lines = step.lines.get(service)
        if lines is None:
            lines = step.lines[service] = []
        lines.append(line)

    def _deadletter(self, step: Step[Token], slot: Slot, reason: str, now_ns: int) -> None:
        COUNTERS.add("normalize", "deadletter", reason.split(":", 1)[0])
        step.letters += 1
        record = deadletter_record(
            stage="normalize",
            reason=reason,
            original=slot.value,
            topic=slot.where[0],
            partition=slot.where[1],
            offset=slot.where[2],
            dataset=None,
            now_ns=now_ns,
            redact=self.redact,
        )
        step.outputs.append(Output(self.deadletter_topic, slot.key, to_json_bytes(record)))

    def held(self) -> dict[tuple[str, int], int]:
        """The lowest offset per (topic, partition) still inside an open CRI run."""
        lowest: dict[tuple[str, int], int] = {}
        for topic, partition, offset in self._open:
            if offset < lowest.get((topic, partition), offset + 1):
                lowest[topic, partition] = offset
        return lowest

    def __len__(self) -> int:
        """Open partial runs."""
        return len(self.joiner)
