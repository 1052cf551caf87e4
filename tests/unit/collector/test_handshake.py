"""HELO/PING/PONG vectors (fixed nonce and salts, digests computed independently)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgpack
import pytest

from bitacora.collector.forward.handshake import (
    Challenge,
    check_ping,
    check_pong,
    helo,
    load_users,
    make_ping,
)
from bitacora.errors import ConfigError

NONCE = bytes(range(16))
USER_SALT = bytes(range(16, 32))
SALT = b"client-salt-0001"
KEY = b"s3cret shared key"
USERS = {b"alice": b"wonderland"}


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def ping(
    key: bytes = KEY, user: str = "", password: str = "", hostname: str = "client-1"
) -> list[object]:
    return [
        "PING",
        hostname,
        SALT,
        sha512(SALT + hostname.encode() + NONCE + key),
        user,
        sha512(USER_SALT + user.encode() + password.encode()) if user else "",
    ]


def test_helo_frame_is_exactly_fluentd_shaped() -> None:
    assert msgpack.unpackb(helo(Challenge(NONCE, b""))) == [
        "HELO",
        {"nonce": NONCE, "auth": "", "keepalive": True},
    ]
    assert msgpack.unpackb(helo(Challenge(NONCE, USER_SALT)))[1]["auth"] == USER_SALT


def test_good_key_gets_a_pong_proving_the_server_knows_it() -> None:
    result = check_ping(ping(), Challenge(NONCE, b""), KEY, {}, "collector-1")
    assert (result.ok, result.reason) == (True, "")
    assert msgpack.unpackb(result.pong) == [
        "PONG",
        True,
        "",
        "collector-1",
        sha512(SALT + b"collector-1" + NONCE + KEY),
    ]
    assert check_pong(msgpack.unpackb(result.pong), SALT, NONCE, KEY)
    assert not check_pong(msgpack.unpackb(result.pong), SALT, NONCE, b"other key")


def test_wrong_key_is_refused() -> None:
    result = check_ping(ping(key=b"wrong"), Challenge(NONCE, b""), KEY, {}, "collector-1")
    assert (result.ok, result.reason) == (False, "shared_key mismatch")
    assert msgpack.unpackb(result.pong) == ["PONG", False, "shared_key mismatch", "", ""]


def test_ping_fields_may_arrive_as_str_or_bin() -> None:
    frame = ping()
    frame[1] = b"client-1"
    frame[3] = str(frame[3]).upper().encode()
    assert check_ping(frame, Challenge(NONCE, b""), KEY, {}, "c").ok


def test_user_with_right_password() -> None:
    frame = ping(user="alice", password="wonderland")
    result = check_ping(frame, Challenge(NONCE, USER_SALT), KEY, USERS, "c")
    assert (result.ok, result.username) == (True, "alice")


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("bob", "wonderland"), ("", "")]
)
def test_bad_user_or_password_is_refused(user: str, password: str) -> None:
    frame = ping(user=user, password=password)
    result = check_ping(frame, Challenge(NONCE, USER_SALT), KEY, USERS, "c")
    assert (result.ok, result.reason) == (False, "username/password mismatch")


@pytest.mark.parametrize(
    "frame",
    [
        None,
        "PING",
        ["PONG", 1, 2, 3, 4, 5],
        ["PING", "h", b"s", "d", "u"],
        ["PING", 1, b"s", "d", "u", "p"],
    ],
)
def test_malformed_ping_is_refused(frame: object) -> None:
    result = check_ping(frame, Challenge(NONCE, b""), KEY, {}, "c")
    assert (result.ok, result.reason) == (False, "invalid ping message")


def test_make_ping_answers_a_helo() -> None:
    challenge = Challenge(NONCE, USER_SALT)
    frame = make_ping(
        msgpack.unpackb(helo(challenge)), "client-1", KEY, "alice", "wonderland", salt=SALT
    )
    assert frame == ping(user="alice", password="wonderland")
    assert check_ping(frame, challenge, KEY, USERS, "c").ok


def test_load_users(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# comment\nalice:wonder:land\n\nbob:\n")
    assert load_users(path) == {b"alice": b"wonder:land", b"bob": b""}
    path.write_text("no-colon\n")
    with pytest.raises(ConfigError, match="users:1"):
        load_users(path)
    with pytest.raises(ConfigError):
        load_users(tmp_path / "missing")
