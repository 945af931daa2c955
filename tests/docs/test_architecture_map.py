"""docs/architecture.md names every module of both packages, so the module map stays current."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAP = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
# Every module, except a subpackage's __init__.py (the subpackage's modules are its content).
MODULES = sorted(
    path.relative_to(ROOT)
    for package in ("ptycho_settings", "ptycho_engine")
    for path in (ROOT / package).rglob("*.py")
    if path.name != "__init__.py" or path.parent.name == package
)


def mentioned(module: Path) -> bool:
    """``ptycho_engine/data/npz.py`` counts as named by `data/npz.py` in the engine's table."""
    package, *rest = module.parts
    section = MAP.split(f"## Module map: `{package}`", 1)[-1].split("\n## ", 1)[0]
    return f"`{'/'.join(rest)}`" in section


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_module_is_in_the_architecture_map(module):
    assert mentioned(module), f"{module} is missing from the module map of docs/architecture.md"
