"""No production module is over 400 lines (STYLE.md): a longer one is split by concept."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("bitacora", "collector", "processors", "rules", "dashboards")
LIMIT = 400


def production_modules() -> list[Path]:
    """Every ``.py`` file of the production packages (the symlinked folders once each)."""
    found: list[Path] = []
    for top in PRODUCTION:
        for path in sorted((ROOT / top).rglob("*.py")):
            inside = path.relative_to(ROOT).parents
            if not any((ROOT / part).is_symlink() for part in (path, *inside)):
                found.append(path)
    return found


def test_the_production_packages_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in production_modules()}
    assert {"bitacora/settings.py", "collector/app.py", "rules/model.py"} <= names
    assert not any(name.startswith("bitacora/rules/") for name in names)


def test_no_production_module_is_over_400_lines() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): count
        for path in production_modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
