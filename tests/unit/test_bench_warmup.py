"""OpenSearch's warm-up before the benchmarks (``bench.warmup``): when it stops, how the
JIT's time is read, and how the run's documents say it happened."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import warmup
from bench.capacity_doc import render as capacity_render
from bench.markdown import render, warmup_note
from bench.results import Row, write_json
from bench.warmup import WarmRound, parse_jstat_compiler, warm_enough

# What `jstat -compiler <pid>` printed for the local stack's OpenSearch (Temurin 25).
JSTAT = (
    "Compiled Failed Invalid   Time   FailedType FailedMethod\n"
    "    8945      2       0    14.61          1 java/util/ArrayList remove\n"
)


def test_parse_jstat_compiler_reads_the_compile_time_in_seconds() -> None:
    assert parse_jstat_compiler(JSTAT) == 14.61


@pytest.mark.parametrize(
    "output", ["", "Compiled Failed Invalid Time\n", "Timestamp S0C S1C\n1.0 2 3\n", "12 0 0 x\n"]
)
def test_parse_jstat_compiler_refuses_other_output(output: str) -> None:
    with pytest.raises(ValueError, match="not jstat -compiler output"):
        parse_jstat_compiler(output)


def test_jit_seconds_of_no_process_is_nan() -> None:
    assert math.isnan(warmup.jit_seconds(None))


def test_jit_share_is_compile_time_over_cpu() -> None:
    assert WarmRound(50_000, 2.0, 0.3).jit_share == pytest.approx(0.15)
    assert math.isnan(WarmRound(50_000, 0.0, 0.3).jit_share)
    assert math.isnan(WarmRound(50_000, math.nan, math.nan).jit_share)


def _rounds(*shares: float) -> list[WarmRound]:
    return [WarmRound(1000, 1.0, share) for share in shares]


def test_warming_stops_at_the_first_round_whose_jit_share_is_below_the_bar() -> None:
    assert not warm_enough([])
    assert not warm_enough(_rounds(0.7, 0.4))
    assert not warm_enough(_rounds(0.7, warmup.STEADY_JIT_SHARE))  # below, not at
    assert warm_enough(_rounds(0.7, 0.4, 0.14))


def test_warming_without_the_jit_runs_a_fixed_number_of_rounds() -> None:
    unknown = [math.nan] * warmup.FALLBACK_ROUNDS
    assert not warm_enough(_rounds(*unknown[:-1]))
    assert warm_enough(_rounds(*unknown))


def test_warming_stops_at_the_cap_even_while_the_jit_compiles() -> None:
    assert not warm_enough(_rounds(*[0.5] * (warmup.MAX_ROUNDS - 1)))
    assert warm_enough(_rounds(*[0.5] * warmup.MAX_ROUNDS))


def test_warmup_note_says_documents_rounds_and_the_last_jit_share() -> None:
    meta = {"opensearch_warmup": {"rounds": 7, "documents": 350_000, "last_jit_share": 0.123}}
    assert warmup_note(meta) == (
        " Before the first benchmark, OpenSearch indexed 350,000 warm-up documents in 7 "
        "rounds; in the last, its JIT compiler took 12% of its CPU (`bench.warmup`)."
    )
    unread = {"opensearch_warmup": {"rounds": 8, "documents": 400_000, "last_jit_share": math.nan}}
    assert "its JIT's time could not be read, so the rounds were a fixed number" in warmup_note(
        unread
    )
    assert warmup_note({}) == ""


def test_write_json_records_the_warmup_and_both_documents_say_so(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    rounds = [WarmRound(50_000, 11.6, 8.3), WarmRound(50_000, 2.2, 0.3)]
    write_json([Row("x", 1.0)], {}, out, smoke=False, seconds=1.0, warmup=rounds)
    doc = json.loads(out.read_text())
    warm = doc["meta"]["opensearch_warmup"]
    assert (warm["rounds"], warm["documents"]) == (2, 100_000)
    assert warm["last_jit_share"] == pytest.approx(0.3 / 2.2)
    sentence = "OpenSearch indexed 100,000 warm-up documents in 2 rounds; in the last, its JIT"
    assert sentence in render(doc)
    assert sentence in capacity_render(doc)
    write_json([Row("x", 1.0)], {}, out, smoke=True, seconds=1.0)
    assert "opensearch_warmup" not in json.loads(out.read_text())["meta"]
