"""The modules the build compiles with mypyc, and whether this installation runs them compiled.

The normalizer's per-event work is the pipeline's largest CPU cost (docs/capacity.md);
the alerting role's router and evaluator (the detector, the rule engine, the rule types,
the keyed records and the state cache: most of its CPU when many rules match) and the
collector's forward input (its decoder, raw records and bundles) run once per event too.
``setup.py`` compiles these modules to C extensions with mypyc, from the same typed
Python, which stays the definition of what they do; the extension module sits beside its
``.py`` file and Python imports it first. ``BITACORA_PURE_PYTHON=1`` at install time (no C
compiler at hand) installs them as plain Python: the same results for more CPU per
event (``bench.run``'s processor benchmark prints both).

This file is read by ``setup.py`` before the package exists: keep it free of imports
from the project.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.abc import PathEntryFinder
from importlib.machinery import EXTENSION_SUFFIXES, SOURCE_SUFFIXES, FileFinder, SourceFileLoader
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

# Paths from the repository root, through the bitacora/ symlinks (the installed names).
COMPILED: tuple[str, ...] = (
    "bitacora/collector/forward/decode.py",
    "bitacora/collector/forward/packed.py",
    "bitacora/collector/forward/request.py",
    "bitacora/collector/records.py",
    "bitacora/bundles.py",
    "bitacora/rawrecord.py",
    "bitacora/redact.py",
    "bitacora/rules/decide.py",
    "bitacora/rules/engine.py",
    "bitacora/rules/types/__init__.py",
    "bitacora/rules/types/any.py",
    "bitacora/rules/types/base.py",
    "bitacora/rules/types/blacklist.py",
    "bitacora/rules/types/cardinality.py",
    "bitacora/rules/types/change.py",
    "bitacora/rules/types/flatline.py",
    "bitacora/rules/types/frequency.py",
    "bitacora/rules/types/metric_aggregation.py",
    "bitacora/rules/types/new_term.py",
    "bitacora/rules/types/percentage_match.py",
    "bitacora/rules/types/spike.py",
    "bitacora/rules/types/spike_aggregation.py",
    "bitacora/rules/types/whitelist.py",
    "bitacora/processors/alerting/detector.py",
    "bitacora/processors/alerting/keyed_records.py",
    "bitacora/processors/alerting/state_cache.py",
    "bitacora/processors/normalize/checks.py",
    "bitacora/processors/normalize/core.py",
    "bitacora/processors/normalize/extract.py",
    "bitacora/processors/normalize/fields.py",
    "bitacora/processors/normalize/ids.py",
    "bitacora/processors/normalize/jsonbytes.py",
    "bitacora/processors/normalize/levels.py",
    "bitacora/processors/normalize/stage.py",
    "bitacora/processors/normalize/timefmt.py",
    "bitacora/processors/normalize/parsers/__init__.py",
    "bitacora/processors/normalize/parsers/access.py",
    "bitacora/processors/normalize/parsers/base.py",
    "bitacora/processors/normalize/parsers/cri.py",
    "bitacora/processors/normalize/parsers/healthcheck.py",
    "bitacora/processors/normalize/parsers/json_line.py",
    "bitacora/processors/normalize/parsers/logfmt.py",
    "bitacora/processors/normalize/parsers/mongodb.py",
    "bitacora/processors/normalize/parsers/plain.py",
    "bitacora/processors/normalize/parsers/stacktrace.py",
    "bitacora/processors/normalize/sources/__init__.py",
    "bitacora/processors/normalize/sources/otlp.py",
    "bitacora/processors/normalize/sources/syslog.py",
)


def module_name(path: str) -> str:
    """``bitacora/x/y.py`` → ``bitacora.x.y`` (a package's ``__init__.py`` → the package)."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def pure_modules() -> list[str]:
    """The modules of :data:`COMPILED` this installation imports as plain Python."""
    pure = []
    for path in COMPILED:
        origin = importlib.import_module(module_name(path)).__file__ or ""
        if not origin.endswith(tuple(EXTENSION_SUFFIXES)):
            pure.append(module_name(path))
    return pure


def stale_sources(root: Path) -> list[str]:
    """The paths of :data:`COMPILED` under the checkout ``root`` whose compiled extension is
    missing or older than the source (edited since the last build)."""
    stale = []
    for path in COMPILED:
        source = root / path
        built = [source.with_name(source.stem + suffix) for suffix in EXTENSION_SUFFIXES]
        times = [ext.stat().st_mtime for ext in built if ext.exists()]
        if not times or max(times) < source.stat().st_mtime:
            stale.append(path)
    return stale


def orphan_extensions(root: Path) -> list[str]:
    """Compiled extensions under the checkout ``root``'s ``bitacora/`` (and the folders it
    links to) of modules no longer in :data:`COMPILED`: left from a build before the module
    was taken off the list, and still imported first. ``make compile`` deletes them."""
    package = root / "bitacora"
    listed = {module_name(path) for path in COMPILED}
    orphans = []
    for folder, _dirs, files in os.walk(package, followlinks=True):
        for name in files:
            if not name.endswith(tuple(EXTENSION_SUFFIXES)):
                continue
            relative = (Path(folder) / name.partition(".")[0]).relative_to(root)
            if module_name(f"{relative.as_posix()}.py") not in listed:
                orphans.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(orphans)


def prefer_sources() -> None:
    """Make this process import the project's modules from their Python sources, never
    from compiled extensions; other packages' extensions are untouched.

    For comparing the two builds (the tests, the processor benchmark): call it before the
    first import of any module of :data:`COMPILED`; raises RuntimeError when one of them
    still comes compiled (imported earlier).
    """
    # bitacora/ and the folders it links to (collector/, processors/, ... in a checkout).
    roots = [_PACKAGE, *(child.resolve() for child in _PACKAGE.iterdir() if child.is_dir())]
    source_only = FileFinder.path_hook((SourceFileLoader, SOURCE_SUFFIXES))

    def hook(path: str) -> PathEntryFinder:
        real = Path(path).resolve()
        if not any(real.is_relative_to(root) for root in roots):
            raise ImportError(path)  # not ours: the next hook finds it
        return source_only(path)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()
    compiled = sorted({module_name(path) for path in COMPILED} - set(pure_modules()))
    if compiled:
        raise RuntimeError(f"imported compiled before prefer_sources(): {', '.join(compiled)}")


def main(argv: list[str] | None = None) -> int:
    """``python -m bitacora.compiled [--stale | --orphans]``: list the modules installed as
    plain Python (or, with ``--stale``, the checkout's sources edited since their last
    build; with ``--orphans``, its extensions of modules no longer compiled); exit 1 when
    there are any."""
    args = sys.argv[1:] if argv is None else argv
    root = _PACKAGE.parent
    if args == ["--stale"]:
        found = stale_sources(root)
    elif args == ["--orphans"]:
        found = orphan_extensions(root)
    else:
        found = pure_modules()
    for name in found:
        print(name)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
