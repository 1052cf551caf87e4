"""Fast paths of the normalizer give what the straightforward code they replace gave."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bitacora.processors.normalize.checks import check
from bitacora.processors.normalize.extract import pop_paths
from bitacora.processors.normalize.timefmt import MAX_NS, format_ms, format_ns

_OLD_IPV4 = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}")
OCTETS = [str(n) for n in range(300)] + ["00", "01", "007", "0255", "1000", "", "-1", "2a"]


def _old_ipv4(text: str) -> str | None:
    if _OLD_IPV4.fullmatch(text):
        return text if all(int(octet) <= 255 for octet in text.split(".")) else None
    return None


@pytest.mark.parametrize("octet", OCTETS)
def test_ipv4_octets_are_checked_as_before(octet: str) -> None:
    for text in (f"{octet}.1.2.3", f"10.{octet}.0.1", f"1.2.3.{octet}"):
        assert check("client.ip", text, None) == _old_ipv4(text)


def _old_pop_paths(fields: dict[Any, Any], paths: list[tuple[str, ...]]) -> None:
    copied: set[int] = set()
    for path in paths:
        chain = []
        parent = fields
        for part in path[:-1]:
            child = parent.get(part)
            if type(child) is not dict:
                break
            if id(child) not in copied:
                child = dict(child)
                parent[part] = child
                copied.add(id(child))
            chain.append((parent, part, child))
            parent = child
        else:
            parent.pop(path[-1], None)
            for parent, part, child in reversed(chain):
                if not child:
                    del parent[part]


names = st.sampled_from(["a", "b", "c"])
trees = st.recursive(
    st.integers(0, 3) | st.none(),
    lambda kids: st.dictionaries(names, kids, max_size=3),
    max_leaves=12,
)


@given(
    tree=st.dictionaries(names, trees, max_size=3),
    paths=st.lists(st.lists(names, min_size=2, max_size=4).map(tuple), max_size=5),
)
def test_pop_paths_removes_what_the_general_walk_removed(
    tree: dict[str, Any], paths: list[tuple[str, ...]]
) -> None:
    original = copy.deepcopy(tree)
    expected = dict(tree)
    _old_pop_paths(expected, paths)
    got = dict(tree)
    pop_paths(got, paths)
    assert got == expected
    assert tree == original  # nested input objects are copied, never changed


@given(st.integers(min_value=1, max_value=MAX_NS))
def test_format_ms_is_format_ns_cut_to_milliseconds(ns: int) -> None:
    assert format_ms(ns) == format_ns(ns)[:23] + "Z"
    assert format_ms(ns) == format_ns(ns)[:23] + "Z"  # the one-second cache warm


def test_format_ms_and_format_ns_share_their_cache_safely() -> None:
    assert format_ns(1_795_856_400_123_456_789) == "2026-11-28T09:00:00.123456789Z"
    assert format_ms(1_795_856_401_999_000_000) == "2026-11-28T09:00:01.999Z"
    assert format_ns(1_795_856_400_000_000_001) == "2026-11-28T09:00:00.000000001Z"
    assert format_ms(1) == "1970-01-01T00:00:00.000Z"


def test_keyword_bytes_follows_the_config_however_it_is_made() -> None:
    import copy as copy_module
    import pickle
    from dataclasses import replace

    from bitacora.processors.normalize import NormalizeConfig

    config = NormalizeConfig(max_field_bytes=1000)
    assert config.keyword_bytes == config.label_value_bytes == 1000
    assert replace(config, max_field_bytes=1 << 20).keyword_bytes == 16 * 1024
    assert copy_module.copy(config).keyword_bytes == 1000
    assert pickle.loads(pickle.dumps(config)).keyword_bytes == 1000
    assert config == NormalizeConfig(max_field_bytes=1000)


LEVEL_LINES = [
    "order 5521 shipped",
    "Traceback (most recent call last):",
    "2026/11/28 09:00:00 [error] 7#7: *1 connect() failed",
    "ERROR db down",
    "E db down",
    "ERRORS are not a level",
    "x-ERROR-y",
    "xERROR",
    "ÉRROR ÉWARN",
    "WARNING: ÜBER",
    " " * 78 + "ERROR",
    " " * 77 + "ERROR",
    "[INFO] upper in brackets",
    "[info] lower in brackets",
    "\ud800ERROR\udcff",
    "ИНФО INFO",
]


def test_sniff_level_finds_what_the_regex_finds() -> None:
    from bitacora.processors.normalize.parsers.plain import _LEVEL_WORD, sniff_level

    for line in LEVEL_LINES:
        match = _LEVEL_WORD.search(line, 0, 80)
        assert sniff_level(line) == (match and (match[1] or match[2]))


@given(st.text(alphabet="EROWANIFTDBUGC[]-_ aéZ\n", max_size=90) | st.text(max_size=90))
def test_sniff_level_matches_the_regex_on_any_text(line: str) -> None:
    from bitacora.processors.normalize.parsers.plain import _LEVEL_WORD, sniff_level

    match = _LEVEL_WORD.search(line, 0, 80)
    assert sniff_level(line) == (match[1] or match[2] if match else None)


def _old_access_labels(line: str) -> Any:
    # The labels the access parser built before its "-" checks were spelled out.
    from bitacora.processors.normalize.parsers.access import _ACCESS, _INGRESS

    def opt(value: str | None) -> str | None:
        return None if value is None or value in ("-", "") else value

    match = _ACCESS.match(line)
    assert match is not None
    _, user, _, _, _, _, referrer, agent, rest = match.groups()
    labels: dict[str, Any] = {}
    if opt(user):
        labels["remote_user"] = user
    if opt(referrer):
        labels["referrer"] = referrer
    if opt(agent):
        labels["user_agent"] = agent
    ingress = _INGRESS.fullmatch(rest) if rest else None
    if ingress is not None:
        upstream, alternative, u_addr, u_len, u_time, u_status, req_id = ingress.groups()[2:]
        info = {
            "name": opt(upstream),
            "alternative_name": opt(alternative),
            "addr": opt(u_addr),
            "response_length": opt(u_len),
            "response_time": opt(u_time),
            "status": opt(u_status),
        }
        labels["upstream"] = {k: v for k, v in info.items() if v is not None}
        if opt(req_id):
            labels["request_id"] = req_id
    return labels


@given(
    user=st.sampled_from(["-", "bob", "--"]),
    quoted=st.sampled_from(["", ' "-" "-"', ' "" ""', ' "https://r/" "UA 1"', ' "-" "curl"']),
    upstream=st.sampled_from(["", "-", "svc-80"]),
    alternative=st.sampled_from(["", "-", "alt"]),
    fields=st.lists(
        st.sampled_from(["-", "10.1.0.5:8080", "12", "0.1", "200", "ab12"]), min_size=5, max_size=5
    ),
    ingress=st.booleans(),
)
def test_access_labels_are_what_they_were(
    user: str, quoted: str, upstream: str, alternative: str, fields: list[str], ingress: bool
) -> None:
    from bitacora.processors.normalize.parsers.access import parse_access

    line = f'10.0.0.1 - {user} [28/Nov/2026:09:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5{quoted}'
    if ingress:
        line += f" 412 0.023 [{upstream}] [{alternative}] " + " ".join(fields)
    hints = parse_access(line)
    assert hints is not None
    labels = hints["@labels"]
    expected = _old_access_labels(line)
    changed = ("remote_user", "referrer", "user_agent", "upstream", "request_id")
    assert {k: v for k, v in labels.items() if k in changed} == expected
    assert list(labels.get("upstream", {})) == list(expected.get("upstream", {}))


def test_event_id_from_a_copied_hash_object_is_the_plain_blake2b() -> None:
    from hashlib import blake2b

    from bitacora.processors.normalize.ids import event_id

    for position in range(50):
        expected = blake2b(f"c:ck:{position}".encode(), digest_size=16).hexdigest()
        assert event_id("ck", position, 0, 0) == expected
        assert event_id(None, 0, 1, position) == (
            blake2b(f"k:1:{position}".encode(), digest_size=16).hexdigest()
        )
    assert event_id("\udcff", 0, 0, 0) == (
        blake2b("c:\udcff:0".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    )


def test_a_choice_keeps_the_best_valid_candidate_as_it_is_offered() -> None:
    from bitacora.processors.normalize.extract import TARGET, Choice

    host, status = TARGET["host.name"], TARGET["http.response.status_code"]
    choice = Choice()
    choice.offer(host, 20, "b", None, None)
    assert (choice.values[host], choice.paths[host]) == ("b", None)
    choice.offer(host, 3, "a", None, "hostname")  # a lower priority replaces it
    choice.offer(host, 3, "c", None, "HOSTNAME")  # a tie keeps the earlier offer
    choice.offer(host, 25, "d", None, "other")
    assert (choice.values[host], choice.priorities[host], choice.paths[host]) == (
        "a",
        3,
        "hostname",
    )
    choice.offer(status, 1, "not a status", None, "status")  # fails its check: not kept
    assert choice.values[status] is None
    choice.offer(status, 4, "503", None, "http.status_code")
    choice.offer(status, 2, 99, None, "code")  # lower priority, but fails its check
    assert (choice.values[status], choice.paths[status]) == (503, "http.status_code")


def test_collect_offers_the_records_candidates_and_consume_removes_the_winners() -> None:
    from bitacora.processors.normalize.extract import TARGET, Choice, collect

    nested = {"host": "b", "pod_name": "p"}
    record = {"hostname": "a", "kubernetes": nested, "msg": "m", "time": "t", "x": 1}
    fields = dict(record)
    choice = Choice()
    collect(fields, choice)
    chosen = {name: choice.values[number] for name, number in TARGET.items()}
    assert {name: value for name, value in chosen.items() if value is not None} == {
        "host.name": "a",
        "kubernetes.pod.name": "p",
        "message": "m",
    }
    assert choice.times == [(2, ("time",), "t")]  # time candidates: kept, not checked
    choice.consume(fields)
    # kubernetes.host only gives host.name (not consumed); the time stays until used.
    assert fields == {"kubernetes": {"host": "b"}, "time": "t", "x": 1}
    assert nested == {"host": "b", "pod_name": "p"}  # the record's own objects are intact


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["host", "level", "levelno", "PRIORITY", "method", "client_ip"]),
            st.sampled_from([" GET ", "get", "-", "null", "WARN", "30", "3", "10.0.0.1 ", "\udcff"])
            | st.text(max_size=8),
        ),
        max_size=12,
    )
)
def test_a_remembered_check_gives_what_the_check_gives(offers: list[tuple[str, str]]) -> None:
    # Each key remembers what the check made of its values; a value offered again (under
    # the same key or another of the target's keys, with another scale) gives what the
    # check gives.
    from bitacora.processors.normalize.checks import check_kind
    from bitacora.processors.normalize.extract import _KIND_OF, ALIASES, Choice

    for key, value in offers * 2:
        target, _, arg, _, memo = ALIASES[key]
        choice = Choice()
        choice.offer(target, 0, value, arg, None, memo)
        assert choice.values[target] == check_kind(_KIND_OF[target], value, arg)


def test_only_values_that_repeat_are_remembered() -> None:
    from bitacora.processors.normalize.extract import _MEMO_MAX, ALIASES, Choice

    assert ALIASES["trace_id"][4] is None
    assert ALIASES["message"][4] is None
    target, _, arg, _, memo = ALIASES["hostname"]
    assert memo is not None
    memo.clear()
    for number in range(_MEMO_MAX + 1):
        Choice().offer(target, 0, f"node-{number}", arg, None, memo)
    assert memo == {f"node-{_MEMO_MAX}": f"node-{_MEMO_MAX}"}  # bounded: cleared when full
    Choice().offer(target, 0, "x" * 257, arg, None, memo)
    assert "x" * 257 not in memo


def test_the_methods_taken_without_the_regex_are_ones_the_regex_takes() -> None:
    from bitacora.processors.normalize import checks

    for method in checks._METHODS:
        assert checks._METHOD.fullmatch(method) is not None
        assert checks.check("http.request.method", f" {method.lower()} ", None) == method


def test_format_ms_reuses_only_the_text_of_the_same_time() -> None:
    times = [1_795_856_400_123_456_789, 1_795_856_400_123_456_789, 1, 1_795_856_400_999_000_000]
    for ns in times + times[::-1]:
        assert format_ms(ns) == format_ns(ns)[:23] + "Z"


@given(st.text(alphabet="\n\tat panicgoroutine:Traceback (most recent call last)", max_size=60))
@example('Traceback (most recent call last):\n  File "a.py", line 1\nValueError: bad')
@example("java.lang.IllegalStateException: bad\n\tat a.B.c(B.java:1)")
@example("panic: oh\n\ngoroutine 1 [running]:")
def test_has_trace_is_false_only_where_no_exception_is_found(text: str) -> None:
    # has_trace gates find_exception: a text it turns away never holds a trace.
    from bitacora.processors.normalize.parsers.stacktrace import find_exception, has_trace

    assert has_trace(text) or find_exception(text) is None


@given(
    st.lists(st.sampled_from([1, 999_999_999, 1_000_000_000, 1_795_856_400_123_456_789, MAX_NS]))
)
def test_format_ns_reuses_only_the_text_of_the_same_time(times: list[int]) -> None:
    import time

    for ns in times:
        seconds, fraction = divmod(ns, 1_000_000_000)
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        assert format_ns(ns) == f"{prefix}.{fraction:09d}Z"


@given(
    st.sampled_from(["info", "Warning", "ERROR", "eRRor", " debug ", "Crit", "NOTICE", "x", ""])
    | st.text(alphabet="ERROWANIFTDBUGCerrowanifbugc \t", max_size=9)
)
def test_a_level_name_in_any_case_is_the_level_of_its_lower_case_name(text: str) -> None:
    # The capitalized spellings looked up first give what stripping and lower-casing gives.
    from bitacora.processors.normalize.levels import parse_level

    lower = parse_level(text.strip().lower())
    if not text.strip().isdigit():
        assert parse_level(text) == lower
