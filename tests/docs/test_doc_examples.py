"""The code examples of README.md and docs/*.md run as tests.

The rules, which a doc writer needs to know:

- Fenced blocks tagged ``python`` are executed; blocks tagged ``bash``, ``sh``, ``shell`` or
  ``console`` are run with ``bash -euo pipefail``. Other fences (untagged, ``text``, ``json``,
  ``toml``, …) are output or file contents and are not run.
- The blocks of one file run in document order, in one fresh temporary directory holding
  ``scan.npz`` and ``scan_test.npz`` (a small simulated N = 64 scan with ground truth, the
  output of ``ptycho simulate scan.npz --test-fraction 0.3``), so a file reads as one session:
  its ``python`` blocks share one namespace, and a later block may use the files and names of
  an earlier one. ``PTYCHO_*`` variables are cleared; the environment is restored afterwards.
- A shell block is run only if every command in it is cheap: ``ptycho config …``,
  ``ptycho data …``, ``ptycho simulate …``, any ``ptycho … --help``, and ``echo``, ``cat``,
  ``printf``, ``cd``, ``mkdir``, ``ls``, ``export`` (leading ``VAR=value`` assignments and
  here-documents are fine). A block with any other command (``ptycho demo``/``train``/
  ``infer``, ``torchrun``, ``srun``, ``sbatch``, ``docker``, ``pip``, ``pytest``, …) must be
  marked, and a test fails until it is.
- ``<!-- not-tested: REASON -->`` on the line before a fence skips that block. Every skipped
  block is reported as a skipped test with its file, line and reason (``pytest -rs``), so
  the list of untested examples is always visible.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_TAGS = {"python", "py"}
SHELL_TAGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<tag>[\w+-]*)")
HEREDOC = re.compile(r"<<-?\s*['\"]?(?P<end>\w+)['\"]?")
CHEAP_PROGRAMS = {"echo", "cat", "printf", "cd", "mkdir", "ls", "export"}
CHEAP_PTYCHO = {"config", "data", "simulate"}


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its tag, its text, and why it is skipped (if it is)."""

    path: Path
    line: int
    tag: str
    code: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        """``path:line`` of the block's first line, relative to the repository."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def extract_blocks(path: Path, text: str | None = None) -> list[Block]:
    """Return the ``python`` and shell blocks of a Markdown file, in order."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks, index, previous = [], 0, ""
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            if lines[index].strip():
                previous = lines[index]
            index += 1
            continue
        fence, tag, start = opening["fence"], opening["tag"].lower(), index + 1
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            index += 1
        body = [line.removeprefix(opening["indent"]) for line in lines[start:index]]
        marker = MARKER.search(previous)
        if tag in PYTHON_TAGS | SHELL_TAGS:
            blocks.append(
                Block(
                    path, start, tag, "\n".join(body) + "\n", marker["reason"] if marker else None
                )
            )
        previous, index = "", index + 1
    return blocks


def shell_commands(code: str) -> list[list[str]]:
    """Split a shell block into commands (words), skipping comments and here-document bodies."""
    commands, heredoc_end, pending = [], None, ""
    for line in code.splitlines():
        if heredoc_end is not None:
            heredoc_end = None if line.strip() == heredoc_end else heredoc_end
            continue
        line = pending + line.removeprefix("$ ")
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        heredoc = HEREDOC.search(line)
        if heredoc:
            heredoc_end = heredoc["end"]
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in words + [";"]:
            if word in {";", "&&", "||", "|"}:
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
    return commands


def expensive_commands(code: str) -> list[str]:
    """Return the commands of a shell block that the rules do not run (empty: cheap block)."""
    found = []
    for words in shell_commands(code):
        while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
            words = words[1:]  # VAR=value prefixes
        if not words or words[0] in CHEAP_PROGRAMS:
            continue
        is_ptycho = words[0] == "ptycho"
        if is_ptycho and (
            len(words) == 1 or {"--help", "-h"} & set(words) or words[1] in CHEAP_PTYCHO
        ):
            continue
        found.append(" ".join(words))
    return found


ALL_BLOCKS = [block for path in DOCUMENTS for block in extract_blocks(path)]
RUN_FILES = sorted({block.path for block in ALL_BLOCKS if block.skip_reason is None})
SKIPPED = [block for block in ALL_BLOCKS if block.skip_reason is not None]


@pytest.fixture(scope="module")
def sample_scan() -> tuple[Path, Path]:
    from tests.engine.simdata import simulated_files

    return simulated_files()


def run_shell(block: Block, cwd: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "ptycho").is_file():
        pytest.fail(f"{block.where}: the `ptycho` console script is not installed in {bin_dir}")
    environ = {name: value for name, value in os.environ.items() if not name.startswith("PTYCHO_")}
    environ["PATH"] = f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}"
    code = "\n".join(line.removeprefix("$ ") for line in block.code.splitlines())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (
        f"{block.where}: shell block failed with status {done.returncode}\n{block.code}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )


@pytest.mark.parametrize("path", RUN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_examples_run(path, sample_scan, tmp_path, monkeypatch):
    for source in sample_scan:
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.chdir(tmp_path)
    saved_environ = dict(os.environ)
    namespace: dict = {"__name__": "__doc_example__"}
    try:
        for block in (b for b in ALL_BLOCKS if b.path == path and b.skip_reason is None):
            if block.tag in SHELL_TAGS:
                expensive = expensive_commands(block.code)
                assert not expensive, (
                    f"{block.where}: {expensive} is not cheap enough to run in the tests; "
                    "put `<!-- not-tested: REASON -->` on the line before the block"
                )
                run_shell(block, tmp_path)
            else:
                exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)


@pytest.mark.parametrize("block", SKIPPED, ids=lambda b: b.where)
def test_untested_doc_examples_say_why(block):
    # Blocks that install packages, train for minutes, or need Docker, a GPU or several
    # machines are not run here; each must say why, and where it is exercised when it is.
    reason = block.skip_reason or ""
    assert len(reason.split()) >= 2, f"{block.where}: `not-tested:` needs a reason, got {reason!r}"


def test_the_rules_classify_blocks_and_commands():
    text = (
        "```python\nx = 1\n```\n\n<!-- not-tested: takes minutes -->\n```bash\nptycho demo\n```\n"
        "```\nplain output\n```\n```bash\nPTYCHO_DEVICE=cpu ptycho config show && ls\n"
        "cat > run.json <<'EOF'\n{\"training\": {}}\nEOF\nptycho train \\\n  --help\n```\n"
    )
    first, second, third = extract_blocks(ROOT / "x.md", text)
    assert (first.tag, first.skip_reason, second.skip_reason) == ("python", None, "takes minutes")
    assert expensive_commands(second.code) == ["ptycho demo"]
    assert expensive_commands(third.code) == []
    assert expensive_commands("torchrun --nproc-per-node 2 -m ptycho_engine.cli train\n")
