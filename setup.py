"""Build hook: compile the normalizer's hot modules with mypyc (bitacora/compiled.py).

Everything else about the package is in pyproject.toml. ``BITACORA_PURE_PYTHON=1`` skips
the compilation (no C compiler at hand): the same code then runs as plain Python.
"""

import os
import runpy
import tempfile

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, PlatformError

# mypyc needs types, not the checks `make lint` runs: libraries missing from the isolated
# build environment (pydantic, msgpack, ...) are typed as Any instead of failing the build.
MYPYC_CONFIG = "[mypy]\npython_version = 3.11\nignore_missing_imports = True\n"


class BuildExt(build_ext):
    """build_ext whose failure says what to do."""

    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, CompileError, ExecError, PlatformError) as exc:
            raise SystemExit(
                f"error: compiling the normalizer with mypyc failed ({exc}). Install a C "
                "compiler and Python's headers (scripts/system-deps does, as root), or "
                "install with BITACORA_PURE_PYTHON=1 to run it as plain Python."
            ) from exc


if os.environ.get("BITACORA_PURE_PYTHON", "") in ("", "0"):
    from mypyc.build import mypycify

    compiled = runpy.run_path("bitacora/compiled.py")["COMPILED"]
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as config:
        config.write(MYPYC_CONFIG)
    setup(
        ext_modules=mypycify([f"--config-file={config.name}", *compiled], opt_level="3"),
        cmdclass={"build_ext": BuildExt},
    )
else:
    setup()
