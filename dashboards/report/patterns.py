"""Error message templates with drain3, and which of them are new this week.

Messages of both weeks go through one ``TemplateMiner`` in time order. drain3 never merges
two clusters, it only generalizes a cluster's template, so a cluster that received no
message of the previous week is a pattern that first appeared this week.
Variable parts are masked before mining (ids, numbers, IPs, UUIDs, hex), so "order 123
failed" and "order 456 failed" are one pattern from the first message on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

# Order matters: the most specific shapes first, so a UUID is not eaten as hex or numbers.
MASKS: tuple[tuple[str, str], ...] = (
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID"),
    (r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])", "IP"),
    (r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){3,7}[0-9a-fA-F]{1,4}(?![\w:])", "IP"),
    (r"\b0[xX][0-9a-fA-F]+\b", "HEX"),
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "HEX"),
    # ids: a word with letters and digits mixed (ord-8812, user_42, A1B2C3), not plain words.
    (r"\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+\b", "ID"),
    (r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6,}\b", "ID"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ms|s|us|ns|%|b|kb|mb|gb)?(?![\w.])", "NUM"),
)
SAMPLES_PER_PATTERN = 3


@dataclass(frozen=True)
class ErrorLine:
    """One error event as the miner sees it."""

    timestamp: datetime
    message: str
    service: str = ""
    event_id: str = ""


@dataclass
class PatternStats:
    """A mined pattern and what was seen of it in each week."""

    cluster_id: int
    template: str = ""
    count: int = 0
    prev_count: int = 0
    first_seen: datetime | None = None
    services: dict[str, int] = field(default_factory=dict)
    samples: list[ErrorLine] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        """First seen this week: no message of the previous week fell in this cluster."""
        return self.prev_count == 0 and self.count > 0


def make_miner() -> TemplateMiner:
    """A drain3 miner with the masking config in code (no ``drain3.ini`` read from disk)."""
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name in MASKS]
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.drain_max_children = 100
    config.parametrize_numeric_tokens = True
    config.profiling_enabled = False
    return TemplateMiner(persistence_handler=None, config=config)


def mask(message: str) -> str:
    """The message with variable parts replaced by ``<UUID>``, ``<IP>``, ``<NUM>``, …"""
    return str(make_miner().masker.mask(message))


def mine(previous: Iterable[ErrorLine], current: Iterable[ErrorLine]) -> list[PatternStats]:
    """Mine both weeks (previous first); patterns with messages this week, most frequent first."""
    miner = make_miner()
    stats: dict[int, PatternStats] = {}
    for line in previous:
        result = miner.add_log_message(line.message)
        entry = stats.setdefault(result["cluster_id"], PatternStats(result["cluster_id"]))
        entry.prev_count += 1
    for line in current:
        result = miner.add_log_message(line.message)
        entry = stats.setdefault(result["cluster_id"], PatternStats(result["cluster_id"]))
        entry.count += 1
        if entry.first_seen is None or line.timestamp < entry.first_seen:
            entry.first_seen = line.timestamp
        if line.service:
            entry.services[line.service] = entry.services.get(line.service, 0) + 1
        if len(entry.samples) < SAMPLES_PER_PATTERN:
            entry.samples.append(line)
    for cluster in miner.drain.clusters:
        if cluster.cluster_id in stats:
            stats[cluster.cluster_id].template = cluster.get_template()
    current_patterns = [s for s in stats.values() if s.count > 0]
    current_patterns.sort(key=lambda s: (-s.count, s.cluster_id))
    return current_patterns
