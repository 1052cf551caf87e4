"""Rules a team can operate: reload the rule directory when it changes, or on SIGHUP.

The directory is polled (paths, modification times, sizes and inodes of the rule files
and the destinations file): a ConfigMap update swaps a symlink, which inotify on the
files would miss, and polling works on every filesystem. A changed set is loaded whole;
if any file is refused, the running rules stay and the refusal is logged and exported
(``bitacora_rules_file_refused{file}`` = 1, ``bitacora_rules_reloads_total{outcome=
"refused"}``) with the file, line and key. Applied, rules that did not change keep their
window states (keyed by rule name); a changed or removed rule's states are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mode import Service

from bitacora.errors import RuleError
from bitacora.processors.shell.counters import RULES_LOADED, RULES_REFUSED, RULES_RELOADS
from bitacora.rules.loader import load_rules, rule_files, rules_dir_paths
from bitacora.rules.model import Rule
from bitacora.settings import Settings

log = logging.getLogger("bitacora.rules")

Fingerprint = tuple[tuple[str, int, int, int], ...]
_FILE = re.compile(r"([^:;]+\.ya?ml)(?::\d+)?: ")


def fingerprint(paths: Sequence[Path], extra: Path | None) -> Fingerprint:
    """What identifies the files' current versions (a missing file counts as such)."""
    rows = []
    for path in [*rule_files(paths), *([extra] if extra else [])]:
        try:
            stat = path.stat()
        except OSError:
            rows.append((str(path), -1, -1, -1))
            continue
        rows.append((str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(rows)


@dataclass(frozen=True)
class Changes:
    """How a new rule set differs from the running one, by rule name."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]


def plan(running: Mapping[str, Rule], new: Sequence[Rule]) -> Changes:
    """Compare by name and definition (pydantic equality: every option)."""
    names = {rule.name: rule for rule in new}
    return Changes(
        added=tuple(sorted(n for n in names if n not in running)),
        changed=tuple(sorted(n for n, r in names.items() if n in running and running[n] != r)),
        removed=tuple(sorted(n for n in running if n not in names)),
        unchanged=tuple(sorted(n for n, r in names.items() if running.get(n) == r)),
    )


def refused_files(error: RuleError) -> list[str]:
    """The files a loader error names (each of its lines starts ``FILE:LINE:``)."""
    files: list[str] = []
    for line in str(error).splitlines():
        for part in line.split("; "):
            found = _FILE.match(part)
            if found and found.group(1) not in files:
                files.append(found.group(1))
    return files


class RuleReloader(Service):
    """Polls the rule directory and applies a new rule set through ``apply``."""

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        rules: Sequence[Rule],
        apply: Callable[[list[Rule], Changes], None],
    ) -> None:
        super().__init__()
        self.settings = settings
        self.env = dict(env)
        self.paths = rules_dir_paths(settings.rules_dir)
        self.running = {rule.name: rule for rule in rules}
        self.apply = apply
        self.requested = asyncio.Event()
        self.last = fingerprint(self.paths, settings.destinations_file)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hangup = False
        RULES_LOADED.set(len(self.running))

    def catch_sighup(self) -> None:
        """Take SIGHUP (which would end the process) as "reload now", from this moment on.

        Installed before the worker starts, so a signal during startup is not fatal; it is
        acted on once the watch runs.
        """
        signal.signal(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self, _signum: int, _frame: object) -> None:
        self._hangup = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.requested.set)

    async def on_start(self) -> None:
        """Watch the files; act on a SIGHUP that arrived while the worker started."""
        self._loop = asyncio.get_running_loop()
        if self._hangup:
            self.requested.set()
        self.add_future(self._watch())

    async def _watch(self) -> None:
        interval = self.settings.rules_reload_interval_s
        while not self.should_stop:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.requested.wait(), interval)
            forced = self.requested.is_set()
            self.requested.clear()
            now = fingerprint(self.paths, self.settings.destinations_file)
            if forced or now != self.last:
                self.last = now
                self.reload()

    def reload(self) -> Changes | None:
        """Load the directory; apply it if every file is valid. The changes, or None."""
        try:
            loaded = load_rules(
                self.paths, env=self.env, destinations_file=self.settings.destinations_file
            )
        except RuleError as exc:
            RULES_RELOADS.labels("refused").inc()
            RULES_REFUSED.clear()
            for name in refused_files(exc):
                RULES_REFUSED.labels(name).set(1)
            log.error("rules: new rule files refused; the previous rules keep running:\n%s", exc)
            return None
        RULES_REFUSED.clear()
        rules = [item.rule for item in loaded]
        changes = plan(self.running, rules)
        if changes.added or changes.changed or changes.removed:
            self.apply(rules, changes)
            self.running = {rule.name: rule for rule in rules}
            RULES_RELOADS.labels("applied").inc()
            RULES_LOADED.set(len(rules))
            log.warning(
                "rules reloaded: added %s, changed %s, removed %s, %d unchanged",
                list(changes.added),
                list(changes.changed),
                list(changes.removed),
                len(changes.unchanged),
            )
        return changes
