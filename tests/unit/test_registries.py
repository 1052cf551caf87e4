"""Every plug-in module is in its registry: a destination, a rule type, a line parser, a
CLI command module. Adding a module without its registry entry fails here."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import bitacora
from bitacora.cli import main
from bitacora.processors.normalize.parsers import PARSERS, RECORD_STEPS
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations import DESTINATIONS
from bitacora.rules.notify.destinations.base import Destination, DestinationOptions
from bitacora.rules.types import RULE_TYPES, RuleKind

PACKAGE = Path(bitacora.__file__).parent


def modules(folder: str, package: str) -> dict[str, object]:
    """The modules of a plug-in folder (its ``__init__`` and ``base`` left out), imported."""
    names = sorted(
        path.stem
        for path in (PACKAGE / folder).glob("*.py")
        if path.stem not in ("__init__", "base")
    )
    return {name: importlib.import_module(f"{package}.{name}") for name in names}


def test_every_destination_module_is_registered_with_its_options_and_sender() -> None:
    found = modules("rules/notify/destinations", "bitacora.rules.notify.destinations")
    registered = {kind.name: kind for kind in DESTINATIONS.values()}
    for name, module in found.items():
        kind = getattr(module, "KIND", None)
        assert kind is not None, f"destinations/{name}.py declares no KIND"
        assert registered.get(kind.name) is kind, f"destinations/{name}.py is not in DESTINATIONS"
        assert issubclass(kind.options, DestinationOptions)
        assert issubclass(kind.sender, Destination)
        assert kind.options.model_config.get("extra") == "forbid"
        for option in kind.options.required:
            assert option in kind.options.model_fields, f"{kind.name}: required {option!r}"
    assert len(found) == len(DESTINATIONS)


def test_every_rule_type_module_is_registered_and_the_schema_offers_exactly_those() -> None:
    found = modules("rules/types", "bitacora.rules.types")
    registered = set(RULE_TYPES.values())
    for name, module in found.items():
        kinds = [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, RuleKind)
            and value is not RuleKind
            and value.__module__ == module.__name__  # type: ignore[attr-defined]
        ]
        assert kinds, f"types/{name}.py defines no RuleKind"
        assert all(kind in registered for kind in kinds), f"types/{name}.py is not in RULE_TYPES"
        for kind in kinds:
            missing = set(kind.required) - set(Rule.model_fields)
            assert not missing, f"types/{name}.py requires unknown options {missing}"
    assert Rule.model_json_schema()["properties"]["type"]["enum"] == list(RULE_TYPES)


def test_every_parser_module_is_a_registered_line_parser_or_a_named_record_step() -> None:
    found = modules("processors/normalize/parsers", "bitacora.processors.normalize.parsers")
    registered = {p.parse.__module__.rsplit(".", 1)[1] for p in PARSERS}
    assert set(found) == registered | set(RECORD_STEPS)
    assert not registered & set(RECORD_STEPS)
    assert len({p.name for p in PARSERS}) == len(PARSERS)


def test_every_cli_command_module_is_registered_in_the_group() -> None:
    found = {
        name: module
        for name, module in modules("cli", "bitacora.cli").items()
        if name.endswith("_cmd")
    }
    registered = set(main.commands.values())
    for name, module in found.items():
        commands = getattr(module, "COMMANDS", None)
        assert commands, f"cli/{name}.py declares no COMMANDS"
        for command in commands:
            assert command in registered, f"cli/{name}.py: {command.name!r} is not registered"


def test_every_normalize_source_module_is_registered() -> None:
    from bitacora.processors.normalize.sources import SOURCES

    found = modules("processors/normalize/sources", "bitacora.processors.normalize.sources")
    registered = {source.__module__ for source in SOURCES.values()}
    assert {module.__name__ for module in found.values()} == registered  # type: ignore[attr-defined]
