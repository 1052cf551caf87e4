"""``bench.services.of_app``: which topics and groups a clean-up by app id takes."""

from __future__ import annotations

from bench.services import of_app


def test_the_app_id_itself_and_its_dash_names_belong_to_the_app() -> None:
    names = [
        "bench-1a2b",  # a faust app's group
        "bench-1a2b-alerting",  # a role's group
        "bench-1a2b-alerting-__assignor-__leader",  # faust's internal topic
        "bench-1a2b.raw",  # a topic of the run, deleted by name only
        "bench-1a2bc-normalize",  # another run whose id starts alike
        "bench-1a2",
    ]
    assert [n for n in names if of_app(n, "bench-1a2b")] == names[:3]
    assert [n for n in names if of_app(n, None)] == []
