"""``bitacora.cli.errors.describe`` and the debug switch, without running a command."""

from __future__ import annotations

import click
import pytest
from pydantic import ValidationError

from bitacora.cli.errors import Endpoints, describe, one_line
from bitacora.cli.group import debug_requested
from bitacora.errors import DeliveryError, RuleError
from bitacora.settings import Settings


def test_one_line_keeps_the_first_line_and_counts_the_rest() -> None:
    assert one_line("  a\n\n b\nc ") == "a (and 2 more line(s))"
    assert one_line("only") == "only"
    assert one_line("\n") == ""


def test_malformed_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITACORA_HTTP_PORT", "abc")
    with pytest.raises(ValidationError) as caught:
        Settings()
    failure = describe(caught.value)
    assert failure.exit_code == 2
    assert failure.message == (
        "BITACORA_HTTP_PORT='abc': input should be a valid integer, unable to parse string as "
        "an integer (fix or unset the variable)"
    )


def test_kinds_of_failure_and_their_codes() -> None:
    from aiokafka.errors import KafkaConnectionError

    where = lambda: Endpoints(kafka="k:1", opensearch="http://o:2")  # noqa: E731
    kafka = describe(KafkaConnectionError("Unable to bootstrap"), where)
    assert (kafka.exit_code, kafka.message.split(":")[0]) == (3, "cannot reach Kafka at k")
    assert describe(RuleError("r.yaml:2: bad\nmore"), where).message == (
        "r.yaml:2: bad (and 1 more line(s))"
    )
    assert describe(DeliveryError("refused"), where).exit_code == 1
    missing = describe(FileNotFoundError(2, "No such file or directory", "/x"), where)
    assert (missing.exit_code, missing.message) == (1, "No such file or directory: /x")
    odd = describe(ZeroDivisionError("division by zero"), where)
    assert odd == describe(ZeroDivisionError("division by zero"))
    assert odd.message == (
        "unexpected ZeroDivisionError: division by zero "
        "(run with --debug (or BITACORA_DEBUG=1) for the traceback)"
    )
    assert describe(click.Abort()).exit_code == 130
    assert describe(click.ClickException("x")).message == "x"


def test_debug_requested() -> None:
    assert debug_requested(["--debug", "search"], {})
    assert not debug_requested(["search", "--debug"], {})
    assert debug_requested(["search"], {"BITACORA_DEBUG": "1"})
    assert not debug_requested(["search"], {"BITACORA_DEBUG": "0"})
