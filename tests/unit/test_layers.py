"""The layers point one way (docs/architecture.md, "Layers"): an import-graph check.

Every module under bitacora/ (the symlinked component folders included) is parsed with
``ast``; every import counts, also those inside functions and under ``TYPE_CHECKING``.
Core uses only core; a component uses the core and itself (processors may use rules);
applications use anything; only applications use applications; nothing names the
top-level ``collector``/``processors``/``rules``/``dashboards``; the collector never
imports faust.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CORE = frozenset(
    {
        "bitacora",
        "bitacora.bundles",
        "bitacora.clients",
        "bitacora.compiled",
        "bitacora.deadletter",
        "bitacora.durations",
        "bitacora.errors",
        "bitacora.eventloop",
        "bitacora.fields",
        "bitacora.gctune",
        "bitacora.kafkacodec",
        "bitacora.partitions",
        "bitacora.rawrecord",
        "bitacora.redact",
        "bitacora.schema",
        "bitacora.settings",
    }
)
COMPONENTS = ("collector", "processors", "rules", "dashboards")
# A component may also use these components.
COMPONENT_USES: Mapping[str, frozenset[str]] = {"processors": frozenset({"rules"})}
# Applications, by module prefix. The weekly report sits in the dashboards folder, beside
# the templates it complements, but it queries OpenSearch through bitacora.search.
APPLICATIONS = (
    "bitacora.__main__",
    "bitacora.cli",
    "bitacora.dashboards.report",
    "bitacora.demo",
    "bitacora.demo_sources",
    "bitacora.retention",
    "bitacora.runner",
    "bitacora.search",
    "bitacora.stack",
    "bitacora.status",
    "bitacora.supervise",
    "bitacora.ui",
)
TOP_LEVEL_NAMES = frozenset(COMPONENTS)
# Third-party packages a component must not import.
FORBIDDEN_THIRD_PARTY: Mapping[str, frozenset[str]] = {"collector": frozenset({"faust", "mode"})}


@dataclass(frozen=True)
class Module:
    """A module's dotted name, where it was read from, and its source."""

    name: str
    path: str
    source: str
    is_package: bool = False


def within(name: str, prefix: str) -> bool:
    """True when ``name`` is ``prefix`` or one of its submodules."""
    return name == prefix or name.startswith(prefix + ".")


def unit_of(name: str) -> tuple[str, str] | None:
    """``(layer, unit)`` of a module of ours: ("core", "core"), ("component", "rules")...

    None for a module that no layer claims (the check reports it: classify new modules).
    """
    for app in APPLICATIONS:
        if within(name, app):
            return "application", app
    if name in CORE:
        return "core", "core"
    for component in COMPONENTS:
        if within(name, f"bitacora.{component}"):
            return "component", component
    return None


def imports_of(module: Module) -> Iterator[tuple[str, int]]:
    """Every imported module name with its line, relative imports resolved.

    ``from package import name`` yields ``package.name``: resolving it to the module itself
    or to the package that defines the name is left to the caller, which knows the modules.
    """
    for node in ast.walk(ast.parse(module.source, module.path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.name.split(".")
                if not module.is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                parent = ".".join([*base, node.module] if node.module else base)
            else:
                parent = node.module or ""
            for alias in node.names:
                yield f"{parent}.{alias.name}", node.lineno


def _resolve(name: str, known: Mapping[str, Module]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def violations(modules: Mapping[str, Module]) -> list[str]:
    """Every import that breaks the layering, as ``path:line: module -> target (why)``."""
    found: list[str] = []
    for module in sorted(modules.values(), key=lambda m: m.name):
        here = unit_of(module.name)
        if here is None:
            found.append(f"{module.path}:1: {module.name} belongs to no layer (classify it)")
            continue
        layer, unit = here
        for imported, line in imports_of(module):
            top = imported.partition(".")[0]
            where = f"{module.path}:{line}: {module.name} -> {imported}"
            if top in TOP_LEVEL_NAMES:
                found.append(f"{where} (top-level name: import bitacora.{imported})")
                continue
            if top in FORBIDDEN_THIRD_PARTY.get(unit, ()):
                found.append(f"{where} ({unit} must not import {top})")
                continue
            if top != "bitacora":
                continue
            target = _resolve(imported, modules)
            there = unit_of(target) if target else None
            if target is None or there is None or target == module.name:
                continue
            why = _refusal(layer, unit, *there)
            if why:
                found.append(f"{module.path}:{line}: {module.name} -> {target} ({why})")
    return sorted(set(found))


def _refusal(layer: str, unit: str, target_layer: str, target_unit: str) -> str | None:
    if target_layer == "core" or layer == "application":
        return None
    who = "core" if layer == "core" else f"component {unit}"
    if target_layer == "application":
        return f"{who} uses the application {target_unit}"
    if layer == "core":
        return f"core uses the component {target_unit}"
    if target_unit != unit and target_unit not in COMPONENT_USES.get(unit, ()):
        return f"component {unit} uses the component {target_unit}"
    return None


def load_package(root: Path) -> dict[str, Module]:
    """Every module under ``root``/bitacora, following the symlinked component folders."""
    modules: dict[str, Module] = {}
    for folder, dirs, files in os.walk(root / "bitacora", followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            if not file.endswith(".py"):
                continue
            path = Path(folder) / file
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join(parts)
            modules[name] = Module(
                name, str(path.relative_to(root)), path.read_text(encoding="utf-8"), is_package
            )
    return modules


def test_the_package_keeps_its_layers() -> None:
    modules = load_package(REPO)
    # The symlinked folders are followed: their modules are part of the check.
    for component in COMPONENTS:
        assert any(within(name, f"bitacora.{component}") for name in modules), component
    found = violations(modules)
    assert found == [], "imports against the layering:\n" + "\n".join(found)


def test_nothing_imports_the_top_level_component_names() -> None:
    found = []
    for folder in ("bench", "tests", "scripts"):
        for path in sorted((REPO / folder).rglob("*.py")):
            module = Module(path.stem, str(path.relative_to(REPO)), path.read_text("utf-8"))
            for imported, line in imports_of(module):
                if imported.partition(".")[0] in TOP_LEVEL_NAMES:
                    found.append(f"{module.path}:{line}: {imported}")
    assert found == []


def test_the_collector_runs_without_loading_faust() -> None:
    code = (
        "import sys, bitacora.collector.app, bitacora.cli.collector_cmd; "
        "print(sorted(m for m in ('faust', 'mode') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"


def _synthetic(**sources: str) -> dict[str, Module]:
    modules = {}
    for dotted, source in sources.items():
        name = dotted.replace("__", ".")
        is_package = name.endswith(".pkg")
        modules[name] = Module(name, name.replace(".", "/") + ".py", source, is_package)
    return modules


def test_the_checker_reports_every_kind_of_violation_with_file_and_line() -> None:
    modules = _synthetic(
        bitacora="",
        bitacora__settings="from bitacora import schema\n",
        bitacora__schema="import bitacora.rules.model\n",
        bitacora__collector="",
        bitacora__collector__http=(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from bitacora.processors.storage import deadletter\n"
            "import faust\n"
        ),
        bitacora__processors="",
        bitacora__processors__storage="",
        bitacora__processors__storage__deadletter=(
            "from bitacora.rules import model\n"
            "def late():\n"
            "    from bitacora.search import client\n"
        ),
        bitacora__rules="",
        bitacora__rules__model="import collector.records\n",
        bitacora__search="",
        bitacora__search__client="from bitacora.processors.storage import deadletter\n",
        bitacora__dashboards__report__collect="from ...search import client\n",
        bitacora__newthing="",
    )
    assert violations(modules) == [
        "bitacora/collector/http.py:3: bitacora.collector.http -> "
        "bitacora.processors.storage.deadletter (component collector uses the component "
        "processors)",
        "bitacora/collector/http.py:4: bitacora.collector.http -> faust "
        "(collector must not import faust)",
        "bitacora/newthing.py:1: bitacora.newthing belongs to no layer (classify it)",
        "bitacora/processors/storage/deadletter.py:3: bitacora.processors.storage.deadletter "
        "-> bitacora.search.client (component processors uses the application bitacora.search)",
        "bitacora/rules/model.py:1: bitacora.rules.model -> collector.records "
        "(top-level name: import bitacora.collector.records)",
        "bitacora/schema.py:1: bitacora.schema -> bitacora.rules.model "
        "(core uses the component rules)",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bitacora", ("core", "core")),
        ("bitacora.clients", ("core", "core")),
        ("bitacora.collector.forward.server", ("component", "collector")),
        ("bitacora.dashboards.render", ("component", "dashboards")),
        ("bitacora.dashboards.report.collect", ("application", "bitacora.dashboards.report")),
        ("bitacora.cli.alerts_cmd", ("application", "bitacora.cli")),
        ("bitacora.status", ("application", "bitacora.status")),
        ("bitacora.statusx", None),
    ],
)
def test_modules_are_classified(name: str, expected: tuple[str, str] | None) -> None:
    assert unit_of(name) == expected


# Constructors of Kafka and OpenSearch clients: only bitacora/clients.py calls them.
CLIENT_CONSTRUCTORS = frozenset(
    {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "OpenSearch", "AsyncOpenSearch"}
)


def client_constructions(module: Module) -> Iterator[str]:
    """``path:line: name`` of every Kafka/OpenSearch client constructor call, and of every
    ``faust.App(...)`` given its brokers by hand (``broker=`` instead of the clients' options)."""
    calls = [n for n in ast.walk(ast.parse(module.source, module.path)) if isinstance(n, ast.Call)]
    for node in sorted(calls, key=lambda call: call.lineno):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in CLIENT_CONSTRUCTORS:
            yield f"{module.path}:{node.lineno}: {name}"
        elif name == "App" and any(
            k.arg in ("broker", "broker_credentials") for k in node.keywords
        ):
            yield f"{module.path}:{node.lineno}: faust.App(broker=...)"


def test_only_the_clients_module_builds_kafka_and_opensearch_clients() -> None:
    found = [
        hit
        for name, module in sorted(load_package(REPO).items())
        if name != "bitacora.clients"
        for hit in client_constructions(module)
    ]
    assert found == []


def test_the_client_check_sees_calls_by_either_spelling() -> None:
    module = Module(
        "bitacora.x",
        "bitacora/x.py",
        "import aiokafka, faust\n"
        "p = aiokafka.AIOKafkaProducer(bootstrap_servers='b')\n"
        "def f():\n"
        "    return OpenSearch(hosts=[])\n"
        "app = faust.App('id', broker='kafka://b')\n",
    )
    assert list(client_constructions(module)) == [
        "bitacora/x.py:2: AIOKafkaProducer",
        "bitacora/x.py:4: OpenSearch",
        "bitacora/x.py:5: faust.App(broker=...)",
    ]
