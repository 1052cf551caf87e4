"""Limits, redaction and health-check patterns of the normalizer, built once from the Settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bitacora.errors import ConfigError
from bitacora.processors.normalize.parsers.healthcheck import (
    compile_patterns as compile_health_patterns,
)
from bitacora.redact import compile_patterns

if TYPE_CHECKING:
    from bitacora.settings import Settings

#: Nesting kept as real objects inside ``labels``; deeper subtrees become a JSON string.
DEFAULT_MAX_DEPTH = 20

#: Hard ceiling for one string inside ``labels`` and for keyword fields. ``labels`` is a
#: flat_object whose leaves are indexed as keyword terms (``path=value``); Lucene rejects
#: a whole document when one term exceeds 32,766 bytes, so this stays well below that
#: whatever ``max_field_bytes`` says.
KEYWORD_MAX_BYTES = 16 * 1024

#: Longest label key kept (characters); longer keys are cut, never dropped.
MAX_KEY_CHARS = 128


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    """What ``normalize`` needs from the settings; immutable, regexes compiled once.

    ``max_field_bytes`` caps every string (UTF-8 bytes, marker included);
    ``max_label_keys`` caps the keys and list items kept in ``labels`` (whole tree);
    ``max_depth`` is the deepest nesting kept as objects in ``labels``;
    ``redact_patterns`` are extra regexes whose matches become ``[REDACTED:custom]``.
    """

    max_field_bytes: int = 32 * 1024
    max_label_keys: int = 1000
    max_depth: int = DEFAULT_MAX_DEPTH
    redact_patterns: tuple[str, ...] = ()
    #: Services whose lines are health-check results (parsers.healthcheck).
    health_check_services: frozenset[str] = frozenset({"health-check"})
    health_check_patterns: tuple[str, ...] = ()
    compiled_health: tuple[re.Pattern[str], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    compiled_patterns: tuple[re.Pattern[str], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    #: ``label_value_bytes`` computed once (read for every event).
    keyword_bytes: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if self.max_field_bytes < 256:
            raise ConfigError("max_field_bytes must be at least 256 (room for the marker)")
        if self.max_label_keys < 1:
            raise ConfigError("max_label_keys must be at least 1")
        if self.max_depth < 1:
            raise ConfigError("max_depth must be at least 1")
        object.__setattr__(self, "compiled_patterns", compile_patterns(self.redact_patterns))
        health = compile_health_patterns(self.health_check_patterns)
        object.__setattr__(self, "compiled_health", health)
        object.__setattr__(self, "keyword_bytes", min(self.max_field_bytes, KEYWORD_MAX_BYTES))

    @property
    def label_value_bytes(self) -> int:
        """Cap for strings inside ``labels`` and keyword fields."""
        return self.keyword_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> NormalizeConfig:
        """The normalizer's view of ``settings`` (BITACORA_MAX_FIELD_BYTES etc.)."""
        return cls(
            max_field_bytes=settings.max_field_bytes,
            max_label_keys=settings.max_label_keys,
            redact_patterns=tuple(settings.redact_patterns),
            health_check_services=frozenset(settings.health_check_services),
            health_check_patterns=tuple(settings.health_check_patterns),
        )


DEFAULT_CONFIG = NormalizeConfig()
