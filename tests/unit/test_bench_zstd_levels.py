"""``python -m bench.zstd_levels``: zstd levels on the pipeline's own Kafka records."""

from __future__ import annotations

import cramjam
import orjson
import pytest

from bench.zstd_levels import hop_values, main, measure, table


@pytest.fixture(scope="module")
def hops() -> dict[str, tuple[list[bytes], int]]:
    return hop_values(1200)


def test_both_hops_carry_the_same_events(hops: dict[str, tuple[list[bytes], int]]) -> None:
    # The normalized bundles are the stage's outputs for the raw ones: every event is in
    # both exactly when the stage made one document per event.
    raw, raw_events = hops["logs.raw"]
    normalized, normalized_events = hops["logs.normalized"]
    assert raw_events == normalized_events == 1200
    assert all(value.startswith(b"\x99\x01") for value in raw)  # raw records, version 1
    lines = b"".join(normalized).split(b"\n")
    assert len(lines) == 2 * 1200 + 1  # an action and a source per event; each bundle ended
    sources = [orjson.loads(line) for line in lines[1::2]]
    assert len({doc["event.id"] for doc in sources}) == 1200


def test_each_level_is_timed_on_each_hop_with_its_exact_ratio(
    hops: dict[str, tuple[list[bytes], int]],
) -> None:
    rows = measure(hops, [1, 3], repeat=3)
    assert [(r.hop, r.level) for r in rows] == [
        ("logs.raw", 1),
        ("logs.raw", 3),
        ("logs.normalized", 1),
        ("logs.normalized", 3),
    ]
    for row in rows:
        values = hops[row.hop][0]
        packed = sum(len(cramjam.zstd.compress(value, level=row.level)) for value in values)
        assert row.ratio == sum(map(len, values)) / packed
        assert 0 < row.low <= row.us_per_event <= row.high
    assert len(table(rows).splitlines()) == 1 + len(rows)


def test_levels_must_be_integers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--levels", "1,fast"])
    assert exited.value.code == 2
    assert "is not comma-separated integers" in capsys.readouterr().err
