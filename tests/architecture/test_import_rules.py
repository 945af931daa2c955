"""Each import rule fails on a small fake tree that breaks it, and only that rule fires."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.import_rules import check_tree

# A minimal tree that keeps every rule: a workflow imports a lower floor and a deferred
# heavy import carries its comment.
CLEAN = {
    "ptycho_settings/__init__.py": "",
    "ptycho_settings/model.py": "import pydantic\n",
    "ptycho_engine/__init__.py": "",
    "ptycho_engine/errors.py": "class EngineError(Exception):\n    pass\n",
    "ptycho_engine/physics/__init__.py": "",
    "ptycho_engine/physics/shift.py": "import torch\nfrom ptycho_engine.errors import EngineError\n",
    "ptycho_engine/training/__init__.py": "",
    "ptycho_engine/training/workflow.py": (
        "from ptycho_engine.physics.shift import EngineError\n"
        "from ptycho_settings.model import pydantic\n"
    ),
    "ptycho_engine/inference/__init__.py": "",
    "ptycho_engine/inference/predict.py": (
        "def run():\n    import matplotlib  # matplotlib only when a figure is drawn\n"
    ),
    "ptycho_engine/cli/__init__.py": "",
    "ptycho_engine/cli/train.py": (
        "import os\n"
        "from ptycho_settings.model import pydantic\n"
        "def run():\n"
        "    # torch only once the flags parse\n"
        "    from ptycho_engine.training.workflow import EngineError\n"
        "    from ptycho_engine.physics.shift import torch\n"
        "    return os.environ, PyTorchExecutionConfig()\n"
    ),
}


def _tree(tmp_path: Path, changes: dict[str, str]) -> Path:
    for name, text in {**CLEAN, **changes}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_clean_tree_keeps_every_rule(tmp_path):
    assert check_tree(_tree(tmp_path, {})) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"ptycho_engine/physics/shift.py": "from ptycho_engine.training import workflow\n"},
            "a higher floor (upward)",
            id="upward",
        ),
        pytest.param(
            {
                "ptycho_engine/inference/predict.py": "from ptycho_engine.training.workflow import x\n"
            },
            "another workflow (sideways)",
            id="sideways",
        ),
        pytest.param(
            {"ptycho_engine/errors.py": "from ptycho_engine.physics import shift\n"},
            "a higher floor (upward)",
            id="upward-to-physics",
        ),
        pytest.param(
            {"ptycho_settings/model.py": "import torch\n"},
            "the settings import torch",
            id="settings-torch",
        ),
        pytest.param(
            {"ptycho_settings/model.py": "def f():\n    # cost\n    import ptycho_engine.errors\n"},
            "the settings import ptycho_engine.errors",
            id="settings-engine",
        ),
        pytest.param(
            {"ptycho_engine/physics/shift.py": "import os\nx = os.environ.get('A')\n"},
            "reads the environment (environ)",
            id="environ",
        ),
        pytest.param(
            {"ptycho_engine/physics/shift.py": "from os import getenv\n"},
            "reads the environment (getenv)",
            id="getenv",
        ),
        pytest.param(
            {"ptycho_engine/training/workflow.py": "x = PyTorchExecutionConfig()\n"},
            "builds PyTorchExecutionConfig()",
            id="execution-defaults",
        ),
        pytest.param(
            {"ptycho_engine/inference/predict.py": "def run():\n    import matplotlib\n"},
            "without a comment",
            id="deferred-without-comment",
        ),
        pytest.param(
            {"ptycho_engine/inference/predict.py": "def run():\n    import json  # cheap\n"},
            "defers no import cost",
            id="deferred-cheap",
        ),
        pytest.param(
            {
                "ptycho_engine/physics/canvas.py": "from ptycho_engine.physics.shift import x\n",
                "ptycho_engine/physics/shift.py": "def f():\n    # hides a circle\n"
                "    from ptycho_engine.physics import canvas\n",
            },
            "circle: ptycho_engine.physics.canvas → ptycho_engine.physics.shift",
            id="circle",
        ),
        pytest.param({"ptycho_engine/gadgets.py": ""}, "`gadgets` has no floor", id="unknown-room"),
        pytest.param(
            {"ptycho_engine/physics/shift.py": "import ptycho_engine\n"},
            "imports the package root",
            id="package-root",
        ),
    ],
)
def test_each_broken_rule_is_found(tmp_path, changes, expected):
    problems = check_tree(_tree(tmp_path, changes))
    assert any(expected in line for line in problems), problems


def test_a_new_module_is_checked_without_editing_the_rules(tmp_path):
    # a module the rules have never heard of, in an existing room, breaking a floor
    changes = {"ptycho_engine/physics/brand_new.py": "from ptycho_engine.cli import train\n"}
    problems = check_tree(_tree(tmp_path, changes))
    assert problems == [
        "ptycho_engine.physics.brand_new:1: imports ptycho_engine.cli.train, a higher floor (upward)"
    ]


def test_the_cli_may_read_the_environment_and_build_execution_settings(tmp_path):
    # CLEAN's cli/train.py does both; moving the same text into a workflow is refused
    assert check_tree(_tree(tmp_path, {})) == []
    moved = {
        "ptycho_engine/training/run.py": CLEAN["ptycho_engine/cli/train.py"].replace(
            "    from ptycho_engine.training.workflow import EngineError\n", ""
        )
    }
    problems = check_tree(_tree(tmp_path, moved))
    assert any("reads the environment" in line for line in problems)
    assert any("builds PyTorchExecutionConfig()" in line for line in problems)
