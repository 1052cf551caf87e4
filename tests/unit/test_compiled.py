"""The mypyc build of the normalizer (bitacora/compiled.py): installed, and equal to its sources."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from bitacora.compiled import (
    COMPILED,
    module_name,
    orphan_extensions,
    pure_modules,
    stale_sources,
)

ROOT = Path(__file__).resolve().parents[2]


def test_module_names_follow_the_paths() -> None:
    assert module_name("bitacora/redact.py") == "bitacora.redact"
    assert module_name("bitacora/processors/normalize/parsers/__init__.py") == (
        "bitacora.processors.normalize.parsers"
    )
    for path in COMPILED:
        assert (ROOT / path).is_file(), path


def test_this_installation_runs_what_its_build_chose() -> None:
    # The development install compiles; BITACORA_PURE_PYTHON=1 at install time does not.
    pure_build = os.environ.get("BITACORA_PURE_PYTHON", "") not in ("", "0")
    expected = [module_name(path) for path in COMPILED] if pure_build else []
    assert pure_modules() == expected
    if not pure_build:  # else the tests would run code older than the sources
        assert stale_sources(ROOT) == [], "sources edited since the build: run `make compile`"
        assert orphan_extensions(ROOT) == [], (
            "extensions of modules no longer compiled: run `make compile`"
        )


def test_prefer_sources_refuses_modules_already_imported_compiled() -> None:
    program = (
        "import bitacora.processors.normalize\n"
        "from bitacora.compiled import prefer_sources\n"
        "prefer_sources()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False
    )
    pure_build = os.environ.get("BITACORA_PURE_PYTHON", "") not in ("", "0")
    if pure_build:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 1
        assert "RuntimeError: imported compiled before prefer_sources(): bitacora." in done.stderr


def test_an_edited_source_is_stale_until_rebuilt(tmp_path: Path) -> None:
    for path in COMPILED[:2]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    assert stale_sources(tmp_path)[:2] == list(COMPILED[:2])  # never built
    first = tmp_path / COMPILED[0]
    built = first.with_name(first.stem + EXTENSION_SUFFIXES[0])
    built.write_bytes(b"")
    os.utime(first, (1_000, 1_000))
    os.utime(built, (2_000, 2_000))
    assert COMPILED[0] not in stale_sources(tmp_path)
    os.utime(first, (3_000, 3_000))  # edited after the build
    assert COMPILED[0] in stale_sources(tmp_path)


def test_extensions_of_modules_off_the_list_are_orphans(tmp_path: Path) -> None:
    # A checkout's layout: bitacora/ holds modules and links to the top-level folders.
    (tmp_path / "processors" / "storage").mkdir(parents=True)
    (tmp_path / "bitacora").mkdir()
    (tmp_path / "bitacora" / "processors").symlink_to("../processors")
    suffix = EXTENSION_SUFFIXES[0]
    listed = [Path(COMPILED[0]), Path("bitacora/processors/normalize/parsers/__init__.py")]
    assert all(path.as_posix() in COMPILED for path in listed)
    for path in listed:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.with_name(path.stem + suffix)).write_bytes(b"")
    (tmp_path / "processors" / "storage" / f"bulk{suffix}").write_bytes(b"")  # off the list
    (tmp_path / "processors" / "storage" / "bulk.py").write_text("", encoding="utf-8")
    (tmp_path / "bitacora" / f"notes{suffix}.txt").write_text("", encoding="utf-8")
    assert orphan_extensions(tmp_path) == [f"bitacora/processors/storage/bulk{suffix}"]


def test_the_python_sources_pass_the_tests_of_the_compiled_modules() -> None:
    # The sources are the definition of the compiled modules: the same tests hold for both.
    program = (
        "import sys\n"
        "from bitacora.compiled import prefer_sources\n"
        "prefer_sources()\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/unit/normalize',\n"
        "    'tests/unit/rules',\n"
        "    'tests/unit/collector/test_decode.py', 'tests/unit/collector/test_fuzz.py',\n"
        "    'tests/unit/collector/test_own_records.py',\n"
        "    'tests/unit/collector/test_packed_by_count.py',\n"
        "    'tests/unit/collector/test_records.py', 'tests/unit/test_rawrecord_bundle.py',\n"
        "    'tests/unit/test_rawrecord_decode.py', 'tests/unit/test_normalize_stage.py']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]
    assert "failed" not in done.stdout.splitlines()[-1]
