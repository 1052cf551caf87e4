"""Redaction canaries: planted secrets must not survive anywhere in the stored JSON."""

from __future__ import annotations

import pytest

from bitacora.processors.normalize import NormalizeConfig, normalize, to_json_bytes
from bitacora.redact import redact, secret_kind_for_key
from tests.unit.normalize.support import raw

CONFIG = NormalizeConfig(redact_patterns=(r"CUST-\d{6}",))

# (text carrying the secret, the canary that must disappear, the kind it is redacted as)
SECRETS: list[tuple[str, str, str]] = [
    ("password=Pa55-canary-1", "Pa55-canary-1", "password"),
    ('{"password": "Pa55-canary-2"}', "Pa55-canary-2", "password"),
    ("passwd: canary-3x", "canary-3x", "password"),
    ("pwd=canary-4x", "canary-4x", "password"),
    ("client_secret=canary-5x", "canary-5x", "secret"),
    ("GET /cb?access_token=canary-6x&state=1", "canary-6x", "token"),
    ("api_key=canary-7x", "canary-7x", "api_key"),
    ("X-Api-Key: canary-8x", "canary-8x", "api_key"),
    ("Authorization: Basic Y2FuYXJ5LTk=", "Y2FuYXJ5LTk=", "authorization"),
    ("authorization=Bearer canary10token", "canary10token", "authorization"),
    ("calling with bearer canary11tokenvalue", "canary11tokenvalue", "bearer"),
    ("key id AKIAIOSFODNN7CANARY1 used", "AKIAIOSFODNN7CANARY1", "aws_access_key"),
    ("temp ASIAIOSFODNN7CANARY2 used", "ASIAIOSFODNN7CANARY2", "aws_access_key"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1",
        "aws_secret_key",
    ),
    (
        "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5 expired",
        "eyJzdWIiOiJjYW5hcnkifQ",
        "jwt",
    ),
    ("paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111", "card"),
    ("card 5555-5555-5555-4444 declined", "5555-5555-5555-4444", "card"),
    ("amex 378282246310005.", "378282246310005", "card"),
    ("discover=6011111111111117", "6011111111111117", "card"),
    ("customer CUST-123456 complained", "CUST-123456", "custom"),
]


@pytest.mark.parametrize(("text", "canary", "kind"), SECRETS)
def test_redact_replaces_each_kind(text: str, canary: str, kind: str) -> None:
    result = redact(text, CONFIG)
    assert canary not in result
    assert f"[REDACTED:{kind}]" in result


def places(text: str) -> list[dict[str, object]]:
    """The same secret planted in every place a document can carry text."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/app/x.py", line 1, in f\n'
        f"    connect({text!r})\n"
        f"RuntimeError: connect failed: {text}"
    )
    return [
        {"message": f"login: {text}"},
        {"message": "m", "detail": f"see {text}"},
        {"message": "m", "ctx": {"deeper": [{"note": text}]}},
        {"message": "failed\n" + trace},
        {"message": "m", "exc_text": trace},
        {"message": "m", "error": {"message": text, "stack_trace": trace}},
        {"log": '{"msg": "json line", "extra": ' + _json_string(text) + "}"},
        {"log": f"level=info msg=logfmt note={_quote(text)}"},
        {"log": f'1.2.3.4 - - [28/Nov/2026:09:00:00 +0000] "GET /p?q={_url(text)} HTTP/1.1" 200 1'},
        {"message": "m", "deep": _deep(text)},
        # Keyword fields of the document itself (log.logger, host.name, service.name).
        {"message": "m", "logger": f"app {text}"},
        {"message": "m", "host": f"node {text}"},
        {"message": "m", "service": f"svc {text}"},
    ]


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _url(text: str) -> str:
    return text.replace(" ", "%20").replace('"', "%22")


def _deep(text: str) -> object:
    value: object = {"secret_note": "x", "text": text}
    for _ in range(25):
        value = {"d": value}
    return value


@pytest.mark.parametrize(("text", "canary", "kind"), SECRETS)
def test_canary_never_survives_in_stored_json(text: str, canary: str, kind: str) -> None:
    for index, record in enumerate(places(text)):
        data = to_json_bytes(normalize(raw(record), 0, index, CONFIG)).decode()
        encoded_canary = canary.replace("/", "\\/")
        assert canary not in data, (index, data)
        assert encoded_canary not in data, (index, data)
        if kind == "card":
            assert canary.replace(" ", "").replace("-", "") not in data


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("password", "canary-p", "password"),
        ("db_password", {"nested": "canary-p"}, "password"),
        ("Authorization", "Basic canary-a", "authorization"),
        ("api_key", "canary-k", "api_key"),
        ("secretKey", ["canary-s"], "secret"),
        ("X-Auth-Token", "canary-t", "token"),
        ("Cookie", "sid=canary-c", "cookie"),
        ("private_key", "canary-pk", "key"),
    ],
)
def test_values_of_secret_named_fields_are_replaced_whole(
    key: str, value: object, kind: str
) -> None:
    doc = normalize(raw({"message": "m", "outer": {key: value}}), 0, 0)
    assert doc["labels"] == {"outer": {key: f"[REDACTED:{kind}]"}}
    assert b"canary" not in to_json_bytes(doc)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",
        "epoch 1795856400123 and 1795856400123456789",
        "order 2026112809000001 created",  # Luhn-invalid 16 digits
        "id 3f4e8d2c1b0a99887766554433221100ffeeddccbbaa00998877665544332211",
        "uuid 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "password reset requested for ana",
        "Authorization failed for user bob",
        "the token bucket is empty",
        "set monkey=3 keyboard=us",
        "phone +34 600 123 456",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text, CONFIG) == text
    assert normalize(raw({"message": text}), 0, 0, CONFIG)["message"] == text


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("password", "password"),
        ("PASSWD", "password"),
        ("aws_secret_access_key", "aws_secret_key"),
        ("refresh_token", "token"),
        ("apikey", "api_key"),
        ("credentials", "credential"),
        ("user", None),
        ("keyboard", None),
    ],
)
def test_secret_kind_for_key(key: str, kind: str | None) -> None:
    assert secret_kind_for_key(key) == kind
