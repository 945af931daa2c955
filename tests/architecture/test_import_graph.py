"""The import rules of DESIGN.md §1a hold for the packages (``import_rules`` says which)."""

from __future__ import annotations

from pathlib import Path

from tests.architecture.import_rules import ENGINE_FLOORS, check_tree

ROOT = Path(__file__).resolve().parents[2]


def test_the_packages_keep_every_import_rule():
    problems = check_tree(ROOT)
    assert not problems, "\n".join(problems)


def test_every_top_level_engine_name_has_a_floor():
    names = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "ptycho_engine").iterdir()
        if path.suffix == ".py" or (path / "__init__.py").is_file()
    }
    assert names <= set(ENGINE_FLOORS), sorted(names - set(ENGINE_FLOORS))


def test_the_engine_top_level_holds_only_the_named_modules():
    files = {path.stem for path in (ROOT / "ptycho_engine").glob("*.py")}
    allowed = {
        "__init__",
        "pinn",
        "reconstruction",
        "outputs",
        "demo",
        "conventions",
        "errors",
        "atomic",
        "hardware",
    }
    assert files <= allowed, sorted(files - allowed)
