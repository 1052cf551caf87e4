"""The wheel: one top-level name (``bitacora``) holding the components, their data and the
normalizer compiled by mypyc (with mypyc's one runtime library beside it); the runtime
dependencies are pinned in constraints.txt, which the Dockerfile and CI install with."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from bitacora.compiled import COMPILED

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "bitacora",
    "collector",
    "processors",
    "rules",
    "dashboards",
)
# Files under bitacora/ that are documentation for readers of the source, not package data.
NOT_SHIPPED = ("README.md",)


def _package_files() -> set[str]:
    """The files the wheel must hold: every module and data file under bitacora/ (so a new
    kind of data file missing from pyproject's package-data fails here), and an extension
    module beside each compiled one."""
    wanted = set()
    for folder, dirs, files in os.walk(REPO / "bitacora", followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for file in files:
            if file not in NOT_SHIPPED and not file.endswith((".pyc", ".so")):
                wanted.add(str((Path(folder) / file).relative_to(REPO)))
    return wanted | {path.removesuffix(".py") + EXTENSION_SUFFIXES[0] for path in COMPILED}


def _build_wheel(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``pip wheel`` of a copy of the sources (the build writes build/ and *.egg-info next
    to them) into ``tmp_path/dist``."""
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    out = tmp_path / "dist"
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        env={**os.environ, **env},
        check=False,
        capture_output=True,
        text=True,
    )


def test_the_wheel_holds_bitacora_alone_with_its_data(tmp_path: Path) -> None:
    built = _build_wheel(tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("bitacora-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    tops = {name.split("/")[0] for name in names}
    runtime = [name for name in tops if re.fullmatch(r"[0-9a-f]+__mypyc\..+\.so", name)]
    assert len(runtime) == 1, tops  # mypyc's shared library, which the compiled modules load
    assert tops - set(runtime) == {"bitacora", "bitacora-0.1.0.dist-info"}
    shipped = {name for name in names if not name.startswith("bitacora-0.1.0.dist-info/")}
    shipped -= set(runtime)
    assert shipped == _package_files()
    # Installed as it is, the wheel runs the compiled normalizer.
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    # One run: where bitacora comes from, then `python -m bitacora.compiled` (lists what
    # runs as plain Python; exit 1 when any).
    program = (
        "import bitacora; print(bitacora.__file__)\n"
        "from bitacora.compiled import main; raise SystemExit(main([]))\n"
    )
    check = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (check.returncode, check.stdout) == (
        0,
        f"{target / 'bitacora' / '__init__.py'}\n",
    ), check.stderr[-2000:]
    # The data the components read at run time, named so a wrong pattern shows here.
    for name in (
        "bitacora/rules/shipped/error_burst.yaml",
        "bitacora/rules/schema.json",
        "bitacora/dashboards/templates/40-dashboards.json.j2",
        "bitacora/dashboards/report/templates/weekly.html.j2",
        "bitacora/py.typed",
        "bitacora/collector/py.typed",
    ):
        assert name in shipped


def test_a_build_without_a_c_compiler_says_what_to_do(tmp_path: Path) -> None:
    built = _build_wheel(tmp_path, CC="/bin/false")
    assert built.returncode != 0
    assert "error: compiling the normalizer with mypyc failed" in built.stderr
    assert "install with BITACORA_PURE_PYTHON=1 to run it as plain Python" in built.stderr


def test_the_pure_python_build_ships_the_sources_alone(tmp_path: Path) -> None:
    built = _build_wheel(tmp_path, BITACORA_PURE_PYTHON="1")
    assert built.returncode == 0, built.stderr[-3000:]
    # A pure wheel: no platform tag.
    assert [p.name for p in (tmp_path / "dist").iterdir()] == ["bitacora-0.1.0-py3-none-any.whl"]
    names = set(zipfile.ZipFile(tmp_path / "dist" / "bitacora-0.1.0-py3-none-any.whl").namelist())
    assert [name for name in names if name.endswith(".so")] == []
    assert {name for name in names if not name.startswith("bitacora-0.1.0.dist-info/")} == {
        name for name in _package_files() if not name.endswith(".so")
    }


def _runtime_requirements() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    names = [
        re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in pyproject["project"]["dependencies"]
    ]
    return [name.lower().replace("_", "-") for name in names]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_every_runtime_dependency_is_pinned() -> None:
    pins = _pins()
    missing = [name for name in _runtime_requirements() if name not in pins]
    assert missing == []


def test_the_dockerfile_and_ci_install_with_the_constraints() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    assert "COPY pyproject.toml setup.py README.md constraints.txt ./" in dockerfile
    assert "pip install -c constraints.txt /wheels/bitacora-*.whl" in dockerfile
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in (REPO / ".ci/run").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in (REPO / "Makefile").read_text()


def test_production_code_never_imports_jsonschema() -> None:
    found = []
    for folder, dirs, files in os.walk(REPO / "bitacora", followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for file in (f for f in files if f.endswith(".py")):
            path = Path(folder) / file
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                found += [f"{path}:{node.lineno}" for n in names if n.split(".")[0] == "jsonschema"]
    assert found == []
