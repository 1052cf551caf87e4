"""The --tail bookkeeping: overlap window, no repeats, bounded memory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bitacora.search.follow import FollowState

S = 1_000_000_000


def test_repeats_are_dropped_and_cursor_advances() -> None:
    state = FollowState(cursor_ns=100 * S, overlap_ns=10 * S)
    assert state.accept("a", 101 * S)
    assert not state.accept("a", 101 * S)
    assert state.accept("b", 99 * S)  # late event inside the window
    assert state.cursor_ns == 101 * S
    assert state.window_start_ns == 91 * S


def test_prune_forgets_ids_below_the_window() -> None:
    state = FollowState(cursor_ns=0, overlap_ns=10 * S)
    for i in range(100):
        state.accept(f"e{i}", i * S)
    state.prune()
    # cursor 99 s, window starts at 89 s: e89..e99 stay.
    assert len(state) == 11
    assert not state.accept("e95", 95 * S)


def test_max_seen_bounds_the_set() -> None:
    state = FollowState(cursor_ns=0, overlap_ns=10**18, max_seen=50)
    for i in range(1000):
        state.accept(f"e{i}", i)
    state.prune()
    assert len(state) == 50


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 200)), max_size=300))
def test_every_event_inside_the_window_is_shown_exactly_once(offers: list[tuple[int, int]]) -> None:
    """Simulated polls re-offering events: each id is shown once, whatever the order."""
    state = FollowState(cursor_ns=0, overlap_ns=1000)
    shown: list[int] = []
    for event, ts in offers:
        if state.accept(str(event), ts):
            shown.append(event)
        state.prune()
    assert len(shown) == len(set(shown))
    assert set(shown) == {e for e, _ in offers}
