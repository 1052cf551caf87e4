"""Property tests: odd records never raise anything but DecodeError, and what comes out
is always valid, bounded JSON."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitacora.errors import DecodeError
from bitacora.processors.normalize import NormalizeConfig, normalize, normalize_json, to_json_bytes
from bitacora.processors.normalize.jsonbytes import reference_json_bytes
from bitacora.rawrecord import RawRecord

CONFIG = NormalizeConfig(max_field_bytes=512, max_label_keys=40, max_depth=4)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.binary(max_size=40)
    | st.sampled_from(
        [
            "2026-11-28T09:00:00.123Z stdout P part",
            '{"msg":"x","level":"warn","err":{"stack":"E: x\\n    at y"}}',
            'Traceback (most recent call last):\n  File "a", line 1\nValueError: v',
            '1.2.3.4 - - [28/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 1',
            "2026-11-28 09:00:00.123 UTC [1] ERROR:  e\n2026-11-28 09:00:00.123 UTC [1] DETAIL:  d",
            "password=x token=y 4111111111111111 eyJa.eyJb.c AKIAAAAAAAAAAAAAAAAA",
            "level=info msg=hi",
            "\udcff\x00",
        ]
    )
)
# The tiny alphabet makes keys that clean to the same label key ("a.b", "a_b") likely.
keys = (
    st.text(max_size=12)
    | st.text("ab._ ", max_size=3)
    | st.binary(max_size=6)
    | st.integers()
    | st.sampled_from(
        ["log", "message", "msg", "level", "time", "kubernetes", "service", "error", "t", "s", "c"]
    )
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)
records = st.dictionaries(keys, values, max_size=12) | values


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    record=records,
    tag=st.text(max_size=20) | st.binary(max_size=5) | st.none(),
    time_ns=st.integers(min_value=-(2**64), max_value=2**64),
    received_ns=st.integers(min_value=-1, max_value=2**63),
    chunk=st.none() | st.text(max_size=10),
    position=st.integers(min_value=0, max_value=2**31),
)
def test_odd_records_give_valid_json_or_decode_error(
    record: Any, tag: Any, time_ns: int, received_ns: int, chunk: str | None, position: int
) -> None:
    raw = RawRecord(tag, time_ns, record, received_ns, "p", "forward", chunk, position)
    try:
        doc = normalize(raw, 3, 4, CONFIG)
    except DecodeError:
        return
    data = to_json_bytes(doc)
    # The stage's call: the same document, and bytes equal to the reference encoding's even
    # where it skips the search for float text.
    doc_again, encoded = normalize_json(raw, 3, 4, CONFIG)
    assert doc_again == doc
    assert encoded == data == reference_json_bytes(doc)
    parsed = json.loads(data.decode("utf-8", "strict"))
    assert parsed == json.loads(json.dumps(doc))
    assert doc["log.level"] in ("trace", "debug", "info", "warn", "error", "fatal")
    assert len(doc["event.id"]) == 32
    for name in ("message", "error.message", "error.stack_trace"):
        if name in doc:
            assert len(doc[name].encode()) <= 512
    assert b"AKIAAAAAAAAAAAAAAAAA" not in data
    assert b"4111111111111111" not in data
    _check_labels(doc.get("labels", {}), 1)


def _check_labels(node: Any, depth: int) -> None:
    if isinstance(node, dict | list):
        assert depth <= CONFIG.max_depth  # deeper containers became JSON text
    if isinstance(node, dict):
        for key, value in node.items():
            assert isinstance(key, str)
            assert key.strip()
            assert "." not in key
            _check_labels(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _check_labels(value, depth + 1)
    elif isinstance(node, str):
        assert len(node.encode()) <= 512
    else:
        assert node is None or isinstance(node, bool | int | float)
