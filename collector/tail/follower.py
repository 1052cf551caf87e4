"""The file input's shell: follow files by polling, publish their lines, keep positions.

Polling, not inotify: every ``poll_interval_s`` (0.25 s by default) the patterns are
globbed again and every followed file is read from where it was left. It works the same
on every filesystem (NFS, overlayfs, bind mounts in containers, where inotify misses
events) and needs no dependency; a quarter second is well below what people notice.

Files are followed by identity (device + inode), not by name:

- **rename-and-create**: the renamed file keeps being read (a writer may still finish a
  line into it) until it has not grown for ``rotate_wait_s``; the new file at the name is
  a new identity, read from its beginning;
- **copytruncate**: a file shorter than what was read, or whose first bytes changed, is a
  new identity read from offset 0 (with a new id token); the lines of the old content not
  read before the truncate are read from the copy beside it (same first bytes);
- **new glob matches** are read from their beginning; files present when the tailer
  starts, without a stored position, from their end unless ``from_beginning``;
- **deleted** files (and rotated ones once quiet) are read to their end, then closed
  (freeing their disk space) and dropped from the position store.

One cycle publishes every new line of every file in one ``Publisher.publish`` (acks=all)
and only then stores the new offsets; if Kafka refuses, the readers rewind to the stored
offsets and the same bytes are sent again later, with the same event ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.tail import positions as store
from bitacora.collector.tail.events import build_records, check_service, service_for_path
from bitacora.collector.tail.lines import LineEvent, LineReader
from bitacora.errors import ConfigError
from bitacora.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "file"
_READ_BYTES = 1024 * 1024  # per file per cycle: one busy file cannot starve the others
_RETRY_S = 1.0


class TailConfig(BaseModel):
    """What the file input needs (from ``Settings`` or the ``bitacora tail`` flags)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patterns: list[str] = Field(min_length=1)
    positions_file: Path
    service: str | None = None
    from_beginning: bool = False
    multiline_start: str | None = None
    max_line_bytes: int = Field(default=64 * 1024, ge=256)
    poll_interval_s: float = Field(default=0.25, gt=0)
    rotate_wait_s: float = Field(default=5.0, ge=0)
    multiline_flush_s: float = Field(default=1.0, gt=0)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> TailConfig:
        """The file input's settings (``BITACORA_TAIL_*``), ``overrides`` winning."""
        values: dict[str, object] = {
            "patterns": settings.tail_paths,
            "positions_file": store.store_path(settings.state_dir, settings.tail_paths),
            "service": settings.tail_service,
            "from_beginning": settings.tail_from_beginning,
            "multiline_start": settings.tail_multiline_start,
            "max_line_bytes": settings.tail_max_line_bytes,
            "poll_interval_s": settings.tail_poll_interval_s,
            "rotate_wait_s": settings.tail_rotate_wait_s,
        }
        values.update(overrides)
        if "patterns" in overrides and "positions_file" not in overrides:
            patterns = [str(p) for p in overrides["patterns"]]  # type: ignore[attr-defined]
            values["positions_file"] = store.store_path(settings.state_dir, patterns)
        return cls.model_validate(values)


def compile_start(pattern: str | None) -> re.Pattern[bytes] | None:
    """The multiline start regex (over raw bytes), ConfigError when it is not valid."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern.encode("utf-8"))
    except re.error as exc:
        raise ConfigError(f"multiline start pattern {pattern!r} is not valid: {exc}") from exc


@dataclass(slots=True)
class _Followed:
    """One open file: its descriptor, position entry and line reader."""

    fd: int
    path: str
    tag: str
    position: store.FilePosition
    reader: LineReader
    last_growth: float
    gone: bool = False  # no pattern matches its inode any more (rotated away or deleted)
    sent: int = 0
    # The unsent rest of the file's previous identity, read from its copytruncate copy.
    carry: tuple[str, list[LineEvent]] | None = None


Batch = tuple[_Followed, str, list[LineEvent]]  # file, chunk id (event ids), events


class TailSource:
    """Follows the files of ``config`` and publishes their lines (see module docstring)."""

    def __init__(self, config: TailConfig, publisher: Publisher, metrics: CollectorMetrics) -> None:
        if config.service is not None:
            check_service(config.service)
        self.config = config
        self._publisher = publisher
        self._metrics = metrics
        self._start = compile_start(config.multiline_start)
        self._positions: dict[str, store.FilePosition] = {}
        self._files: dict[str, _Followed] = {}
        self._task: asyncio.Task[None] | None = None
        self._first_scan = True
        self._dirty = False

    @property
    def files(self) -> dict[str, str]:
        """Followed files: identity key → path (for status and tests)."""
        return {key: f.path for key, f in self._files.items()}

    async def start(self, *, background: bool = True) -> None:
        """Load the stored positions and start following in the background (without
        ``background``, the caller runs the cycles with ``run_once``)."""
        self._positions = store.load(self.config.positions_file)
        if background:
            self._task = asyncio.create_task(self._loop(), name="tail")

    async def stop(self) -> None:
        """Stop following (what Kafka acknowledged is stored already) and close files."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for followed in self._files.values():
            os.close(followed.fd)
        self._files.clear()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except KafkaUnavailable as exc:
                log.warning("file input: %s; retrying", exc)
                await asyncio.sleep(_RETRY_S)
                continue
            except OSError as exc:  # a file vanished mid-cycle, a full disk for the store
                log.warning("file input: %s; retrying", exc)
                await asyncio.sleep(_RETRY_S)
                continue
            await asyncio.sleep(self.config.poll_interval_s)

    async def run_once(self) -> int:
        """One cycle: scan, read, publish, store positions. Returns the events sent."""
        now = time.monotonic()
        self._scan(now)
        batches: list[Batch] = []
        for followed in list(self._files.values()):
            carry, followed.carry = followed.carry, None
            events = self._read(followed, now)
            if followed.carry is not None:  # truncated just now
                carry = followed.carry
            if carry is not None and carry[1]:
                batches.append((followed, carry[0], carry[1]))
            if events:
                batches.append((followed, followed.position.chunk, events))
        sent = await self._publish(batches)
        for followed, _, _ in batches:
            followed.position.offset = followed.reader.safe_offset
            self._dirty = True
        for key, followed in list(self._files.items()):
            if followed.gone and not followed.reader.pending and self._quiet(followed, now):
                self._release(key, followed)
        if self._dirty:
            self._extend_fingerprints()
            store.save(self.config.positions_file, self._positions)
            self._dirty = False
        return sent

    def _quiet(self, followed: _Followed, now: float) -> bool:
        return now - followed.last_growth >= self.config.rotate_wait_s

    def _scan(self, now: float) -> None:
        seen: set[str] = set()
        for pattern in self.config.patterns:
            for path in sorted(glob.glob(os.path.expanduser(pattern))):
                try:
                    info = os.stat(path)
                except OSError:
                    continue  # gone between glob and stat
                if not stat.S_ISREG(info.st_mode):
                    continue
                key = f"{info.st_dev}:{info.st_ino}"
                if key in seen:
                    continue
                seen.add(key)
                followed = self._files.get(key)
                if followed is None:
                    self._open(path, key, now)
                else:
                    followed.path, followed.gone = path, False
        for key, followed in self._files.items():
            if key not in seen and not followed.gone:
                followed.gone = True
                log.info("file input: %s rotated away or deleted; reading it to its end", key)
        if self._first_scan:
            self._first_scan = False
            # Entries of files no longer there: nothing of theirs can be read again.
            for key in [k for k in self._positions if k not in self._files]:
                del self._positions[key]
                self._dirty = True

    def _open(self, path: str, key: str, now: float) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            log.warning("file input: cannot open %s: %s", path, exc)
            return
        info = os.fstat(fd)
        head = os.pread(fd, store.FINGERPRINT_BYTES, 0)
        position = self._positions.get(key)
        carry = None
        if position is None or not store.same_file(position, head, info.st_size):
            if position is not None:  # truncated while we were not running
                carry = self._copy_rest(position, path)
            start_at_end = self._first_scan and not self.config.from_beginning
            offset = info.st_size if start_at_end and position is None else 0
            position = store.new_position(info.st_dev, info.st_ino, head, offset, path)
            self._positions[key] = position
            # The token is stored before any line is sent: ids stay the same after a crash.
            store.save(self.config.positions_file, self._positions)
        position.path = path
        service = self.config.service or service_for_path(path)
        reader = self._reader(position.offset)
        self._files[key] = _Followed(fd, path, f"{service}.file", position, reader, now)
        self._files[key].carry = carry
        log.info("file input: following %s from byte %d", path, position.offset)

    def _reader(self, offset: int) -> LineReader:
        return LineReader(
            offset, max_line_bytes=self.config.max_line_bytes, multiline_start=self._start
        )

    def _read(self, followed: _Followed, now: float) -> list[LineEvent]:
        fd, reader = followed.fd, followed.reader
        info = os.fstat(fd)
        if info.st_size < reader.position or not self._same_head(followed):
            self._truncated(followed, info, now)
            reader = followed.reader
        events: list[LineEvent] = []
        budget = _READ_BYTES
        while budget > 0:
            data = os.pread(fd, min(budget, 256 * 1024), reader.position)
            if not data:
                break
            budget -= len(data)
            followed.last_growth = now
            events += reader.feed(data)
        if info.st_nlink == 0:
            followed.gone = True  # deleted: read to its end, then released
        if followed.gone and self._quiet(followed, now):
            events += reader.flush(final=True)
        elif now - followed.last_growth >= self.config.multiline_flush_s:
            events += reader.flush()
        return events

    def _same_head(self, followed: _Followed) -> bool:
        position = followed.position
        if position.fp_len == 0:
            return True
        head = os.pread(followed.fd, position.fp_len, 0)
        return store.fingerprint(head) == position.fp

    def _truncated(self, followed: _Followed, info: os.stat_result, now: float) -> None:
        log.info("file input: %s was truncated (copytruncate); reading it from 0", followed.path)
        followed.carry = self._copy_rest(followed.position, followed.path)
        head = os.pread(followed.fd, store.FINGERPRINT_BYTES, 0)
        position = store.new_position(info.st_dev, info.st_ino, head, 0, followed.path)
        self._positions[position.key] = position
        store.save(self.config.positions_file, self._positions)
        followed.position = position
        followed.reader = self._reader(0)
        followed.last_growth = now

    def _copy_rest(self, old: store.FilePosition, path: str) -> tuple[str, list[LineEvent]]:
        """The lines of a truncated file not sent yet, read from its copytruncate copy.

        logrotate copies the file, then truncates it: lines written before the copy but
        not read before the truncate are only in the copy (``app.log.1``, ``app.log-DATE``).
        The copy is the file beside it whose first bytes match the old fingerprint; its
        offsets are the old file's, so the event ids stay those of the old identity.
        """
        for candidate in sorted(glob.glob(glob.escape(path) + "?*")):
            try:
                fd = os.open(candidate, os.O_RDONLY)
            except OSError:
                continue
            try:
                info = os.fstat(fd)
                head = os.pread(fd, store.FINGERPRINT_BYTES, 0)
                if (info.st_dev, info.st_ino) == (old.dev, old.ino) or not store.same_file(
                    old, head, info.st_size
                ):
                    continue
                reader = self._reader(old.offset)
                events: list[LineEvent] = []
                while data := os.pread(fd, 256 * 1024, reader.position):
                    events += reader.feed(data)
                events += reader.flush(final=True)
                log.info("file input: read %d line(s) left in %s", len(events), candidate)
                return old.chunk, events
            finally:
                os.close(fd)
        return old.chunk, []

    def _extend_fingerprints(self) -> None:
        for followed in self._files.values():
            position = followed.position
            if position.fp_len < store.FINGERPRINT_BYTES and position.offset > position.fp_len:
                head = os.pread(followed.fd, min(position.offset, store.FINGERPRINT_BYTES), 0)
                store.extend_fingerprint(position, head)

    async def _publish(self, batches: list[Batch]) -> int:
        if not batches:
            return 0
        received = time.time_ns()
        records: list[tuple[bytes, bytes]] = []
        letters: list[bytes] = []
        reasons: list[str] = []
        for followed, chunk, events in batches:
            got, bad = build_records(
                events,
                tag=followed.tag,
                chunk=chunk,
                path=followed.path,
                as_json=False,
                received_ns=received,
                peer=followed.path,
                transport=SOURCE,
                record_limit=self._publisher.record_limit,
            )
            records += got
            letters += [letter for _, letter in bad]
            reasons += [reason for reason, _ in bad]
        try:
            await self._publisher.publish(records, letters)
        except KafkaUnavailable:
            self._metrics.publish_failures.inc(SOURCE)
            for followed, chunk, events in batches:  # the same bytes again later: same ids
                followed.reader = self._reader(followed.position.offset)
                if chunk != followed.position.chunk:
                    followed.carry = (chunk, events)
            raise
        for followed, _, events in batches:
            self._metrics.events.inc(SOURCE, followed.tag, amount=len(events))
            self._metrics.bytes.inc(SOURCE, followed.tag, amount=sum(len(e.text) for e in events))
            followed.sent += len(events)
        if letters:
            self._metrics.deadletters.inc(SOURCE, amount=len(letters))
        for reason in reasons:
            self._metrics.rejections.inc(SOURCE, reason)
        self._metrics.acks.inc(SOURCE)
        return len(records)

    def _release(self, key: str, followed: _Followed) -> None:
        log.info("file input: released %s (rotated away or deleted, read to its end)", key)
        os.close(followed.fd)
        del self._files[key]
        if self._positions.pop(key, None) is not None:
            self._dirty = True
