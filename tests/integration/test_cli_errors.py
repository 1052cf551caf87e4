"""Every ``bitacora`` command's error paths, as a user meets them: real subprocesses.

The commands are enumerated from the click group, so a new command gets its ``--help`` and
unknown-flag runs automatically, and ``test_every_command_has_error_cases`` fails until it
has its own cases below. Kafka and OpenSearch are "unreachable" through ports nobody
listens on (connection refused at once), so no run waits on a timeout. Each run must exit
non-zero with exactly one line on stderr (after any declared progress lines), the expected
text in it, and no traceback anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from bench.procs import free_port
from bitacora.cli import main

CLOSED_KAFKA = f"127.0.0.1:{free_port()}"
CLOSED_OPENSEARCH = f"http://127.0.0.1:{free_port()}"
CLOSED_DASHBOARDS = f"http://127.0.0.1:{free_port()}"
KAFKA_DOWN = f"error: cannot reach Kafka at {CLOSED_KAFKA}: is Kafka running?"
OPENSEARCH_DOWN = f"error: cannot reach OpenSearch at {CLOSED_OPENSEARCH}: is OpenSearch running?"
BAD_RULE = "name: broken\ntype: nope\n"
USAGE, FAILED, UNREACHABLE = 2, 1, 3


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every runnable command under ``group`` (``("alerts", "silence")``, …)."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


LEAVES = [" ".join(path) for path in leaf_commands(main)]


@dataclass(frozen=True)
class Case:
    """One failing run: arguments after ``bitacora``, extra environment, what must show."""

    args: tuple[str, ...]
    code: int
    text: str  # must appear in the last stderr line
    env: dict[str, str] = field(default_factory=dict)
    progress_lines: int = 0  # stderr lines a command prints before failing

    @property
    def command(self) -> str:
        """The leaf command this case exercises."""
        for size in (2, 1):
            name = " ".join(self.args[:size])
            if name in LEAVES:
                return name
        raise AssertionError(f"{self.args} names no command")


def _cases(tmp: Path) -> list[Case]:
    rules = tmp / "rules"
    events = tmp / "events.jsonl"
    not_json = tmp / "saved.ndjson"
    topic = f"test-silences-{os.getpid()}"
    bad_rules = {"BITACORA_RULES_DIR": str(rules)}
    return [
        Case(("alerts", "silence", "error-burst", "--for", "1h", "--topic", topic), 3, KAFKA_DOWN),
        Case(
            ("alerts", "silence", "error-burst", "--for", "soon"), USAGE, "Invalid value for --for"
        ),
        Case(("alerts", "unsilence", "abc123", "--topic", topic), UNREACHABLE, KAFKA_DOWN),
        Case(("alerts", "silences", "--topic", topic), UNREACHABLE, KAFKA_DOWN),
        Case(("alerts", "silences", "-o", "yaml"), USAGE, "'yaml' is not one of 'table', 'jsonl'"),
        Case(("alerts", "list"), UNREACHABLE, OPENSEARCH_DOWN),
        Case(("alerts", "list", "--since", "bogus"), USAGE, "invalid duration 'bogus'"),
        Case(("collector", "--forward-port", "99999"), USAGE, "99999 is not in the range"),
        Case(
            ("collector",), USAGE, "BITACORA_MAX_CONNECTIONS='0'", {"BITACORA_MAX_CONNECTIONS": "0"}
        ),
        Case(("dashboards", "render", "-o", "x.ndjson"), USAGE, "--out-file x.ndjson"),
        Case(
            ("dashboards", "render", "--out-file", str(tmp / "missing" / "x.ndjson")),
            FAILED,
            f"error: No such file or directory: {tmp / 'missing' / 'x.ndjson'}",
        ),
        Case(("dashboards", "check", str(tmp / "absent")), USAGE, "does not exist"),
        Case(("dashboards", "check", str(not_json)), FAILED, "not JSON"),
        Case(
            ("dashboards", "import", "--url", CLOSED_DASHBOARDS),
            FAILED,
            f"error: cannot reach OpenSearch Dashboards at {CLOSED_DASHBOARDS}",
        ),
        Case(("demo", "--rate", "many"), USAGE, "'many' is not a valid integer"),
        Case(("demo",), USAGE, "BITACORA_FORWARD_PORT='x'", {"BITACORA_FORWARD_PORT": "x"}),
        Case(("processor",), USAGE, "bad.yaml:2: key 'type'", bad_rules),
        Case(("processor", "--role", "index"), UNREACHABLE, KAFKA_DOWN),
        Case(("processor", "--role", "everything"), USAGE, "'everything' is not one of"),
        Case(("report", "weekly", "--week", "48"), USAGE, "expected an ISO week like 2026-W48"),
        Case(("report", "weekly", "-o", "r.html"), USAGE, "write to a file with --out-file r.html"),
        Case(
            ("report", "weekly", "--week", "2026-W48", "--out-file", str(tmp / "r.html")),
            UNREACHABLE,
            OPENSEARCH_DOWN,
            progress_lines=2,
        ),
        Case(("retention", "status"), UNREACHABLE, OPENSEARCH_DOWN),
        Case(("retention", "status", "-o", "csv"), USAGE, "'csv' is not one of 'table', 'json'"),
        Case(("retention", "apply"), UNREACHABLE, OPENSEARCH_DOWN),
        Case(("rules", "validate", str(rules)), FAILED, "bad.yaml:2: key 'type'"),
        Case(("rules", "migrate", str(tmp / "absent")), USAGE, "does not exist"),
        Case(("rules", "test", "no-such-rule", "--data", str(events)), USAGE, "no rule named"),
        Case(("rules", "test", "error-burst", "--data", str(events)), USAGE, "not a JSON line"),
        Case(("rules", "test", "error-burst", "--since", "1h"), UNREACHABLE, OPENSEARCH_DOWN),
        Case(("run",), UNREACHABLE, KAFKA_DOWN),
        Case(("run", "--rate", "fast"), USAGE, "'fast' is not a valid integer"),
        Case(("search", "x"), UNREACHABLE, OPENSEARCH_DOWN),
        Case(("ui", "--host", "0.0.0.0"), USAGE, "without a token: set BITACORA_UI_TOKEN"),
        Case(("ui", "--port", "x"), USAGE, "'x' is not a valid integer"),
        Case(("search", "--since", "yesterday"), USAGE, "invalid duration 'yesterday'"),
        Case(("setup",), UNREACHABLE, KAFKA_DOWN),
        Case(("setup", "--partitions", "0"), USAGE, "0 is not in the range x>=1"),
        Case(("stack", "up", "--only", "zookeeper"), USAGE, "'zookeeper' is not one of"),
        Case(("stack", "up", "--fresh", "--only", "kafka"), USAGE, "--fresh wipes both"),
        Case(("stack", "down", "--only", "zookeeper"), USAGE, "'zookeeper' is not one of"),
        Case(("stack", "reset", "now"), USAGE, "Got unexpected extra argument (now)"),
        Case(
            ("stack", "status"),
            USAGE,
            "BITACORA_INDEX_SHARDS='-1'",
            {"BITACORA_INDEX_SHARDS": "-1"},
        ),
        # Malformed BITACORA_* values of each kind.
        Case(
            ("stack", "env"),
            USAGE,
            "BITACORA_HTTP_PORT='abc': input should be a valid integer",
            {"BITACORA_HTTP_PORT": "abc"},
        ),
        Case(
            ("stack", "env"),
            USAGE,
            "BITACORA_TOPIC_PARTITIONS='0': input should be greater",
            {"BITACORA_TOPIC_PARTITIONS": "0"},
        ),
        Case(
            ("stack", "env"),
            USAGE,
            "BITACORA_OPENSEARCH_VERIFY_CERTS='maybe'",
            {"BITACORA_OPENSEARCH_VERIFY_CERTS": "maybe"},
        ),
        Case(
            ("stack", "env"),
            USAGE,
            "BITACORA_REDACT_PATTERNS is not valid JSON",
            {"BITACORA_REDACT_PATTERNS": "[unclosed"},
        ),
        Case(
            ("send", "--service", "x", "--file", str(events), "--timeout", "1"),
            UNREACHABLE,
            "stopped after 0 line(s): Kafka did not acknowledge within 1 s",
        ),
        Case(("send", "--service", "a.b", "--file", str(events)), USAGE, "service 'a.b'"),
        Case(("tail", str(events), "--service", "a b"), USAGE, "service 'a b'"),
        Case(("tail", str(events), "--multiline-start", "("), USAGE, "is not valid"),
    ]


@dataclass(frozen=True)
class Run:
    """What one subprocess left behind."""

    code: int
    stdout: str
    stderr: str


Runs = dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], Run]


def _env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITACORA_")}
    env.update(
        {
            "BITACORA_KAFKA_BOOTSTRAP": CLOSED_KAFKA,
            "BITACORA_OPENSEARCH_URL": CLOSED_OPENSEARCH,
            "BITACORA_STATE_DIR": str(tmp / "state"),
            "BITACORA_CACHE_DIR": str(tmp / "cache"),
            "BITACORA_PROCESSOR_DATA_DIR": str(tmp / "faust"),
            "BITACORA_FORWARD_PORT": str(free_port()),
            "BITACORA_HTTP_PORT": str(free_port()),
            "BITACORA_PROCESSOR_WEB_PORT": str(free_port()),
            "NO_COLOR": "1",
        }
    )
    env.update(extra)
    return env


def _run(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "bitacora", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-errors")
    (tmp / "rules").mkdir()
    (tmp / "rules" / "bad.yaml").write_text(BAD_RULE)
    (tmp / "events.jsonl").write_text('{"message": "ok"}\nnot json\n')
    (tmp / "saved.ndjson").write_text("not json at all\n")
    return tmp


@pytest.fixture(scope="module")
def runs(workdir: Path) -> Runs:
    """Every invocation of this module, run four at a time (each is mostly start-up)."""
    jobs: list[tuple[tuple[str, ...], dict[str, str]]] = []
    for leaf in LEAVES:
        jobs.append(((*leaf.split(), "--help"), {}))
        jobs.append(((*leaf.split(), "--no-such-flag"), {}))
    jobs += [(case.args, case.env) for case in _cases(workdir)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = pool.map(lambda job: _run(job[0], _env(workdir, job[1]), workdir), jobs)
        return {
            (args, tuple(sorted(env.items()))): run
            for (args, env), run in zip(jobs, done, strict=True)
        }


def _result(runs: Runs,
            args: tuple[str, ...], env: dict[str, str] | None = None) -> Run:  # fmt: skip
    return runs[(args, tuple(sorted((env or {}).items())))]


def _assert_one_line_failure(run: Run, code: int, text: str, progress_lines: int = 0) -> None:
    shown = f"exit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr, shown
    assert run.code == code, shown
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 + progress_lines, shown
    assert text in lines[-1], shown


@pytest.mark.parametrize("leaf", LEAVES)
def test_help(runs: Runs, leaf: str) -> None:
    run = _result(runs, (*leaf.split(), "--help"))
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"Usage: python -m bitacora {leaf} ")
    assert run.stderr == ""


@pytest.mark.parametrize("leaf", LEAVES)
def test_unknown_flag(runs: Runs, leaf: str) -> None:
    run = _result(runs, (*leaf.split(), "--no-such-flag"))
    _assert_one_line_failure(
        run,
        USAGE,
        f"error: No such option: --no-such-flag (see `python -m bitacora {leaf} --help`)",
    )
    assert run.stdout == ""


CASE_IDS = [" ".join(case.args) for case in _cases(Path("/unused"))]


@pytest.mark.parametrize("index", range(len(CASE_IDS)), ids=CASE_IDS)
def test_error_case(runs: Runs, workdir: Path, index: int) -> None:
    case = _cases(workdir)[index]
    run = _result(runs, case.args, case.env)
    _assert_one_line_failure(run, case.code, case.text, case.progress_lines)


def test_every_command_has_error_cases() -> None:
    covered = {case.command for case in _cases(Path("/unused"))}
    assert sorted(set(LEAVES) - covered) == []


def test_a_bare_group_prints_its_help(workdir: Path) -> None:
    run = _run(("alerts",), _env(workdir, {}), workdir)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("Usage: python -m bitacora alerts [OPTIONS] COMMAND")
    assert "Traceback" not in run.stderr


def test_debug_prints_the_traceback_too(workdir: Path) -> None:
    run = _run(("--debug", "alerts", "list", "--since", "bogus"), _env(workdir, {}), workdir)
    assert run.code == USAGE
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.splitlines()[-1].startswith("error: Invalid value for --since")
