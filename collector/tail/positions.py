"""How far Kafka holds each followed file, kept per file identity in one JSON file.

A file's identity is its device and inode plus a fingerprint of its first bytes (up to
``FINGERPRINT_BYTES``): the same inode holding other first bytes is another file (inode
reused after a delete, or truncated and written again). Each identity also gets a random
``token`` when first seen, persisted before any of its lines is sent: event ids are built
from the token and the byte offset, so re-reading a file after a crash yields the same ids
(the index drops the repeats) while a new file on a reused inode never shares ids with the
old one.

The store is written atomically (temporary file, fsync, rename) and only by the shell,
after Kafka acknowledged the lines up to the stored offset.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

from bitacora.errors import ConfigError

FINGERPRINT_BYTES = 256
_VERSION = 1


def fingerprint(head: bytes) -> str:
    """A short hash of a file's first bytes (at most ``FINGERPRINT_BYTES``)."""
    return blake2b(head[:FINGERPRINT_BYTES], digest_size=8).hexdigest()


@dataclass(slots=True)
class FilePosition:
    """One followed file: identity, id token and the offset Kafka holds up to."""

    dev: int
    ino: int
    fp_len: int  # how many first bytes ``fp`` covers (grows to FINGERPRINT_BYTES)
    fp: str
    token: str
    offset: int
    path: str  # where it was last seen, for people reading the store

    @property
    def key(self) -> str:
        """The store key: device and inode."""
        return f"{self.dev}:{self.ino}"

    @property
    def chunk(self) -> str:
        """The chunk id of this file's events (event id = chunk + byte offset)."""
        return f"file:{self.dev}:{self.ino}:{self.token}"


def new_position(dev: int, ino: int, head: bytes, offset: int, path: str) -> FilePosition:
    """A position for a file seen for the first time (a fresh id token)."""
    head = head[:FINGERPRINT_BYTES]
    return FilePosition(dev, ino, len(head), fingerprint(head), secrets.token_hex(8), offset, path)


def same_file(position: FilePosition, head: bytes, size: int) -> bool:
    """Whether the file now at ``position``'s inode is still the one it describes.

    False when it is shorter than the offset already read (truncated: copytruncate) or
    its first bytes differ from the fingerprint (another file, or truncated and rewritten).
    """
    if size < position.offset or len(head) < position.fp_len:
        return False
    return fingerprint(head[: position.fp_len]) == position.fp


def extend_fingerprint(position: FilePosition, head: bytes) -> None:
    """Let the fingerprint cover more first bytes once the file has them."""
    head = head[:FINGERPRINT_BYTES]
    if len(head) > position.fp_len:
        position.fp_len = len(head)
        position.fp = fingerprint(head)


def load(path: Path) -> dict[str, FilePosition]:
    """The positions stored at ``path`` (none when the file does not exist)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"tail positions {path} unreadable: {exc}; move it away") from exc
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        raise ConfigError(f"tail positions {path}: unknown format; move it away")
    out: dict[str, FilePosition] = {}
    for item in data.get("files", []):
        try:
            position = FilePosition(**item)
        except TypeError as exc:
            raise ConfigError(f"tail positions {path}: bad entry {item!r}") from exc
        out[position.key] = position
    return out


def save(path: Path, positions: dict[str, FilePosition]) -> None:
    """Write ``positions`` to ``path`` atomically (a crash leaves the old or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": _VERSION, "files": [asdict(p) for p in positions.values()]}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def store_path(state_dir: Path, patterns: list[str]) -> Path:
    """The store of one set of patterns under ``state_dir`` (two tailers never share)."""
    digest = blake2b("\0".join(sorted(patterns)).encode(), digest_size=6).hexdigest()
    return state_dir / "tail" / f"positions-{digest}.json"
