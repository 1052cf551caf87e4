"""Load rule files: YAML → ``Rule``, with errors that name the file, the line and the key.

PyYAML's composed node tree keeps a start mark per node; we record the line of every key
path, then validate with pydantic and translate each error location back to a line.
ElastAlert2's ``import: base.yaml`` (relative to the rule's folder, may itself import)
fills in the keys the rule does not set. Keys ElastAlert2 knows and Bitácora does not use
are dropped with a warning (``rules.elastalert2``); warnings are returned with the rule
(``read_rule``) and logged by the other loaders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bitacora.errors import RuleError
from bitacora.rules.elastalert2 import sort_options
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations import DESTINATIONS
from bitacora.rules.secrets import load_destinations, substitute_env
from bitacora.settings import Settings

log = logging.getLogger(__name__)
SHIPPED_DIR = Path(__file__).parent / "shipped"

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedRule:
    """A validated rule and where it came from."""

    rule: Rule
    path: Path
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadRule:
    """A validated rule and the warnings its file raised (one line each, FILE:LINE: …)."""

    rule: Rule
    warnings: tuple[str, ...]
    # The mapping the model validated (imports and defaults merged, ignored keys dropped).
    data: dict[str, Any] = field(default_factory=dict)


def _lines(node: yaml.Node, path: Loc, into: dict[Loc, int]) -> None:
    into.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            into[(*path, key)] = key_node.start_mark.line + 1
            _lines(value_node, (*path, key), into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), into)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    # Walk up until a located prefix: pydantic may add union tags such as "str" to the path.
    probe = tuple(loc)
    while probe and probe not in lines:
        probe = probe[:-1]
    return lines.get(probe, 1)


def _key_of(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(rule)"


def _imports(data: dict[str, Any], base: Path | None, source: str, depth: int = 0) -> None:
    """Merge ElastAlert2 ``import`` files into ``data`` (the rule's own keys win)."""
    target = data.pop("import", None)
    if target is None:
        return
    if base is None:
        raise RuleError(f"{source}:1: key 'import': only rule files (not text) can import")
    if depth > 10:
        raise RuleError(f"{source}:1: key 'import': more than 10 nested imports")
    for name in [target] if isinstance(target, str) else list(target):
        path = Path(str(name)) if Path(str(name)).is_absolute() else base / str(name)
        try:
            imported = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RuleError(f"{source}:1: key 'import': cannot read {path}: {exc}") from None
        if not isinstance(imported, dict):
            raise RuleError(f"{source}:1: key 'import': {path} does not hold a mapping")
        _imports(imported, path.parent, str(path), depth + 1)
        for key, value in imported.items():
            data.setdefault(key, value)


def _rule_relative_paths(data: dict[str, Any], base: Path | None) -> None:
    """Make the destinations' rule-relative file options (``smtp_auth_file``) absolute."""
    if base is None:
        return
    for kind in DESTINATIONS.values():
        for key in kind.options.rule_relative:
            value = data.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                data[key] = str(base / value)


def read_rule_text(
    text: str,
    source: str = "<text>",
    base: Path | None = None,
    defaults: Mapping[str, Any] | None = None,
    default_name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ReadRule:
    """Validate one rule's YAML text; ``RuleError`` names ``source:line`` and the key.

    ``base`` is the folder ``import`` paths are relative to; ``defaults`` fill keys the
    rule does not set (an ElastAlert2 config file); a rule without ``name`` is named
    ``default_name`` (the file name, as ElastAlert2 does). ``${NAME}`` references are
    replaced from ``env`` (none is set when None: a reference is refused with its name).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise RuleError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict) or node is None:
        raise RuleError(f"{source}:1: a rule file holds one mapping (name, type, filter, …)")
    lines: dict[Loc, int] = {}
    _lines(node, (), lines)
    _imports(data, base, source)
    data = substitute_env(data, env or {}, source, lambda loc: _line_of(loc, lines))
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
    if default_name is not None:
        data.setdefault("name", default_name)
    _rule_relative_paths(data, base)
    kept = sort_options(data, Rule.model_fields.keys(), DESTINATIONS.keys())
    warnings = tuple(f"{source}:{_line_of(loc, lines)}: {text}" for loc, text in kept.warnings)
    problems = [(_line_of(loc, lines), text) for loc, text in kept.errors]
    try:
        rule = Rule.model_validate(kept.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                message = f"unknown key {_key_of(loc)!r}"
            else:
                message = f"key {_key_of(loc)!r}: {error['msg']}"
            problems.append((_line_of(loc, lines), message))
    if problems:
        problems.sort()
        text_out = "; ".join(f"{source}:{line}: {message}" for line, message in problems)
        raise RuleError(text_out) from None
    _check_filters(rule, source, lines)
    return ReadRule(rule, warnings, kept.data)


def parse_rule_text(
    text: str,
    source: str = "<text>",
    *,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Rule:
    """Validate one rule's YAML text (warnings are logged); see :func:`read_rule_text`."""
    read = read_rule_text(text, source, defaults=defaults, env=env)
    for warning in read.warnings:
        log.warning("%s", warning)
    return read.rule


def _check_filters(rule: Rule, source: str, lines: dict[Loc, int]) -> None:
    # Compile now so a bad query string fails at load time, not on the first event.
    from bitacora.rules.filters import compile_clause

    for key, clauses in (
        ("filter", rule.filter),
        ("match_bucket_filter", rule.match_bucket_filter),
        ("resolve_filter", rule.resolve_filter),
    ):
        for index, clause in enumerate(clauses or []):
            try:
                compile_clause(clause)
            except RuleError as exc:
                line = _line_of((key, index), lines)
                raise RuleError(f"{source}:{line}: key '{key}.{index}': {exc}") from None


def read_rule(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ReadRule:
    """Load and validate one YAML rule file, with its warnings."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from exc
    return read_rule_text(
        text, str(path), path.parent, defaults=defaults, default_name=path.stem, env=env
    )


def load_rule_file(path: Path, *, env: Mapping[str, str] | None = None) -> Rule:
    """Load and validate one YAML rule file (warnings are logged)."""
    read = read_rule(path, env=env)
    for warning in read.warnings:
        log.warning("%s", warning)
    return read.rule


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The ``*.yaml``/``*.yml`` files under ``paths`` (files given directly are kept), sorted.

    Hidden files and folders are skipped: a Kubernetes ConfigMap mount keeps each version
    under ``..<timestamp>/`` beside the visible links, which would load every rule twice.
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml")
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def load_rules(
    paths: Iterable[Path] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    destinations_file: Path | None = None,
) -> list[LoadedRule]:
    """Load every rule under ``paths`` (default: the shipped rules).

    All files are checked before raising, so one run reports every broken file; two rules
    with the same name are an error because alerts and state are keyed by rule name.
    ``env`` resolves ``${NAME}`` references; ``destinations_file`` gives default options.
    """
    loaded: list[LoadedRule] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    defaults = load_destinations(destinations_file, env) if destinations_file else None
    for path in rule_files(list(paths) if paths is not None else [SHIPPED_DIR]):
        try:
            read = read_rule(path, env=env, defaults=defaults)
        except RuleError as exc:
            errors.append(str(exc))
            continue
        rule = read.rule
        if rule.name in seen:
            errors.append(
                f"{path}:1: key 'name': rule name {rule.name!r} also used by {seen[rule.name]}"
            )
            continue
        seen[rule.name] = path
        loaded.append(LoadedRule(rule, path, read.warnings))
    if errors:
        raise RuleError("\n".join(errors))
    return loaded


def load_configured_rules(settings: Settings, env: Mapping[str, str]) -> list[LoadedRule]:
    """The rules of ``settings`` (rules_dir, destinations_file), ``${NAME}`` from ``env``."""
    return load_rules(
        rules_dir_paths(settings.rules_dir), env=env, destinations_file=settings.destinations_file
    )


def rules_dir_paths(rules_dir: Path | None) -> list[Path]:
    """Where rules come from: ``Settings.rules_dir`` or else the shipped rules."""
    return [rules_dir] if rules_dir is not None else [SHIPPED_DIR]
