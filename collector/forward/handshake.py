"""The forward protocol's HELO/PING/PONG handshake as pure functions.

The server speaks first (HELO with a fresh nonce and, when users are configured, a user
salt); the client proves it knows the shared key (and a user's password) with SHA-512
digests over salt, hostname and nonce; the server answers PONG, proving the same back.
Values may arrive as ``str`` or ``bin`` (the decoder's ``surrogateescape`` strings are
turned back into their exact bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from bitacora.collector.forward.request import to_bytes
from bitacora.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the server sent in HELO and must check PING against."""

    nonce: bytes
    user_salt: bytes  # empty: no user authentication


@dataclass(frozen=True, slots=True)
class PingResult:
    """The verdict on a PING: ``pong`` is the msgpack reply to send either way."""

    ok: bool
    reason: str
    pong: bytes
    username: str


def digest(*parts: bytes) -> str:
    """Lowercase hex SHA-512 of the concatenated parts (the protocol's only primitive)."""
    h = hashlib.sha512()
    for part in parts:
        h.update(part)
    return h.hexdigest()


def new_challenge(user_auth: bool) -> Challenge:
    """A fresh random nonce (and user salt when users are configured) for one connection."""
    return Challenge(os.urandom(16), os.urandom(16) if user_auth else b"")


def helo(challenge: Challenge) -> bytes:
    """The msgpack HELO frame: ``["HELO", {nonce, auth, keepalive}]``.

    As Fluentd does, the nonce and user salt are ``bin`` and "no user auth" is an empty str.
    """
    options = {
        "nonce": challenge.nonce,
        "auth": challenge.user_salt or "",
        "keepalive": True,
    }
    packed: bytes = msgpack.packb(["HELO", options], use_bin_type=True)
    return packed


def _pong(ok: bool, reason: str, hostname: str, proof: str) -> bytes:
    packed: bytes = msgpack.packb(["PONG", ok, reason, hostname, proof], use_bin_type=True)
    return packed


def check_ping(
    ping: Any,
    challenge: Challenge,
    shared_key: bytes,
    users: dict[bytes, bytes],
    server_hostname: str,
) -> PingResult:
    """Verify a decoded PING frame and build the PONG to answer.

    ``users`` maps username to password (both bytes); it is consulted only when the
    challenge carried a user salt.
    """

    def fail(reason: str) -> PingResult:
        return PingResult(False, reason, _pong(False, reason, "", ""), "")

    if not (type(ping) is list and len(ping) == 6 and ping[0] == "PING"):
        return fail("invalid ping message")
    _, hostname, salt, key_proof, username, password_proof = ping
    fields = (hostname, salt, key_proof, username, password_proof)
    if not all(isinstance(f, str | bytes) for f in fields):
        return fail("invalid ping message")
    hostname_b, salt_b = to_bytes(hostname), to_bytes(salt)
    expected = digest(salt_b, hostname_b, challenge.nonce, shared_key)
    if not hmac.compare_digest(expected.encode(), to_bytes(key_proof).lower()):
        return fail("shared_key mismatch")
    user_b = to_bytes(username)
    if challenge.user_salt:
        password = users.get(user_b)
        proof = to_bytes(password_proof).lower()
        if password is None or not hmac.compare_digest(
            digest(challenge.user_salt, user_b, password).encode(), proof
        ):
            return fail("username/password mismatch")
    server_proof = digest(salt_b, server_hostname.encode(), challenge.nonce, shared_key)
    return PingResult(
        True,
        "",
        _pong(True, "", server_hostname, server_proof),
        user_b.decode("utf-8", "replace"),
    )


def make_ping(
    helo_frame: Any,
    client_hostname: str,
    shared_key: bytes,
    username: str = "",
    password: str = "",
    salt: bytes | None = None,
) -> list[Any]:
    """The client's PING answering a decoded HELO (for tests, benchmarks and tools)."""
    options = helo_frame[1]
    nonce, user_salt = to_bytes(options["nonce"]), to_bytes(options.get("auth") or b"")
    salt = os.urandom(16) if salt is None else salt
    key_proof = digest(salt, client_hostname.encode(), nonce, shared_key)
    password_proof = digest(user_salt, username.encode(), password.encode()) if user_salt else ""
    return ["PING", client_hostname, salt, key_proof, username, password_proof]


def check_pong(pong: Any, salt: bytes, nonce: bytes, shared_key: bytes) -> bool:
    """The client's check that the server knows the shared key too."""
    if not (type(pong) is list and len(pong) == 5 and pong[0] == "PONG" and pong[1] is True):
        return False
    expected = digest(salt, to_bytes(pong[3]), nonce, shared_key)
    return hmac.compare_digest(expected.encode(), to_bytes(pong[4]))


def load_users(path: Path) -> dict[bytes, bytes]:
    """Read ``username:password`` lines (blank lines and ``#`` comments ignored)."""
    users: dict[bytes, bytes] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read forward_users_file {path}: {exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, password = line.partition(":")
        if not sep or not name:
            raise ConfigError(f"{path}:{number}: expected 'username:password'")
        users[name.encode()] = password.encode()
    return users
