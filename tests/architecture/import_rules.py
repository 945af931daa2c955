"""The import rules of DESIGN.md §1a, checked on source text with ``ast`` (nothing is imported).

:func:`check_tree` reads every module of the two packages under a root directory and returns
one line per broken rule. The floors are assigned by a module's first path component below
``ptycho_engine`` (:data:`ENGINE_FLOORS`), so a new module is checked as soon as it exists,
and a new top-level name without a floor is itself a finding.

Rules:

1. an engine module imports only from its own floor or lower floors (``ptycho_settings`` is
   the lowest), never up;
2. no import between two workflow packages (``training``, ``inference``, ``solver``);
3. no circle among the modules of either package (imports inside functions count);
4. ``ptycho_settings`` imports neither the engine nor torch or Lightning, anywhere;
5. outside ``cli/``, no engine module reads the environment (``os.environ``, ``getenv``) or
   builds ``PyTorchExecutionConfig()`` (whose sources read ``PTYCHO_*``);
6. an import inside a function carries a comment (on its line or the line above) saying which
   import cost it defers, and defers one: its target is a heavy third-party module
   (:data:`HEAVY`) or a module of the package that imports one at module level.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("ptycho_engine", "ptycho_settings")

WORKFLOWS = ("training", "inference", "solver")
ENGINE_FLOORS: dict[str, int] = {
    "__init__": 0,
    "cli": 0,
    "demo": 1,
    **dict.fromkeys(WORKFLOWS, 2),
    **dict.fromkeys(("pinn", "reconstruction", "outputs"), 3),
    **dict.fromkeys(("network", "bundle", "metrics", "ptychodus"), 4),
    **dict.fromkeys(("data", "physics"), 5),
    **dict.fromkeys(("conventions", "errors", "atomic", "hardware"), 6),
}
"""Floor of each first component below ``ptycho_engine``; lower numbers are higher floors."""
SETTINGS_FLOOR = 7

HEAVY = frozenset(
    {"torch", "lightning", "matplotlib", "scipy", "skimage", "h5py", "tqdm", "numpy",
     "mlflow", "tensorboard", "ptychodus"}
)  # fmt: skip
"""Third-party packages whose import takes long enough to defer."""
FORBIDDEN_IN_SETTINGS = frozenset({"torch", "lightning", "ptycho_engine"})


@dataclass(frozen=True)
class Import:
    """One import statement's target as seen from the importing module."""

    source: str
    target: str
    line: int
    in_function: bool
    commented: bool


def module_name(root: Path, path: Path) -> str:
    """``ptycho_engine/data/npz.py`` → ``ptycho_engine.data.npz`` (``__init__`` dropped)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules(root: Path) -> dict[str, Path]:
    """Every module of :data:`PACKAGES` under ``root``, by dotted name."""
    return {
        module_name(root, path): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def _imports(name: str, path: Path, known: set[str]) -> tuple[list[Import], ast.Module]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    covered_until: dict[int, bool] = {}  # last line of an import statement → commented

    def commented(node: ast.stmt) -> bool:
        # a comment on the line, or just above, or above the block of imports this one ends
        line = node.lineno
        here = lines[line - 1]
        above = lines[line - 2].strip() if line > 1 else ""
        result = "#" in here or above.startswith("#") or covered_until.get(line - 1, False)
        covered_until[node.end_lineno or line] = result
        return result

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                note = commented(child)
                for alias in child.names:
                    found.append(Import(name, alias.name, child.lineno, inside, note))
            elif isinstance(child, ast.ImportFrom):
                note = commented(child)
                base = _absolute(name, is_package, child)
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    target = candidate if candidate in known else base
                    found.append(Import(name, target, child.lineno, inside, note))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # imports for annotations only never run
            visit(child, inside)

    visit(tree, False)
    return found, tree


def _absolute(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".") if is_package else name.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _owner(target: str, known: set[str]) -> str | None:
    """The project module an import target names (``a.b.func`` → ``a.b``), or None."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def floor_of(module: str) -> tuple[int | None, str]:
    """The floor of a project module and its first component (``training`` …)."""
    parts = module.split(".")
    if parts[0] == "ptycho_settings":
        return SETTINGS_FLOOR, "ptycho_settings"
    first = parts[1] if len(parts) > 1 else "__init__"
    return ENGINE_FLOORS.get(first), first


def check_tree(root: Path) -> list[str]:
    """Return one line per broken import rule in the packages under ``root``."""
    modules = read_modules(root)
    known = set(modules)
    edges: dict[str, list[Import]] = {}
    trees: dict[str, ast.Module] = {}
    for name, path in modules.items():
        edges[name], trees[name] = _imports(name, path, known)
    problems: list[str] = []
    heavy = _heavy_modules(edges, known)
    for name, imports in edges.items():
        imports = _distinct(imports, known)
        problems += _floor_problems(name, imports, known)
        problems += _deferred_import_problems(name, imports, known, heavy)
        if name.startswith("ptycho_engine") and floor_of(name)[1] != "cli":
            problems += _environment_problems(name, trees[name])
    problems += _circles(edges, known)
    return problems


def _distinct(imports: list[Import], known: set[str]) -> list[Import]:
    """One entry per statement and target module (``from m import a, b`` names m once)."""
    seen: dict[tuple[int, str], Import] = {}
    for item in imports:
        seen.setdefault((item.line, _owner(item.target, known) or item.target), item)
    return list(seen.values())


def _floor_problems(name: str, imports: list[Import], known: set[str]) -> list[str]:
    problems = []
    source_floor, source_room = floor_of(name)
    if name.startswith("ptycho_engine") and source_floor is None:
        return [f"{name}: `{source_room}` has no floor in DESIGN.md §1a (add it to ENGINE_FLOORS)"]
    for item in imports:
        top = item.target.split(".")[0]
        if name.startswith("ptycho_settings"):
            if top in FORBIDDEN_IN_SETTINGS:
                problems.append(f"{name}:{item.line}: the settings import {item.target}")
            continue
        owner = _owner(item.target, known)
        if owner is None or not owner.startswith("ptycho_engine"):
            continue
        target_floor, target_room = floor_of(owner)
        if owner == "ptycho_engine" and name != "ptycho_engine":
            problems.append(f"{name}:{item.line}: imports the package root ptycho_engine")
        elif target_floor is not None and target_floor < source_floor:
            problems.append(f"{name}:{item.line}: imports {owner}, a higher floor (upward)")
        elif source_room in WORKFLOWS and target_room in WORKFLOWS and source_room != target_room:
            problems.append(f"{name}:{item.line}: imports {owner}, another workflow (sideways)")
    return problems


def _heavy_modules(edges: dict[str, list[Import]], known: set[str]) -> set[str]:
    """Project modules whose import, at module level, pulls in a :data:`HEAVY` package."""
    heavy: set[str] = set()

    def parents_heavy(name: str) -> bool:
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        parts = name.split(".")
        return any(".".join(parts[:i]) in heavy for i in range(1, len(parts)))

    changed = True
    while changed:
        changed = False
        for name, imports in edges.items():
            if name in heavy:
                continue
            for item in imports:
                if item.in_function:
                    continue
                owner = _owner(item.target, known)
                if item.target.split(".")[0] in HEAVY or (
                    owner is not None and (owner in heavy or parents_heavy(owner))
                ):
                    heavy.add(name)
                    changed = True
                    break
    return heavy


def _deferred_import_problems(
    name: str, imports: list[Import], known: set[str], heavy: set[str]
) -> list[str]:
    problems = []
    for item in imports:
        if not item.in_function:
            continue
        if not item.commented:
            problems.append(
                f"{name}:{item.line}: import of {item.target} inside a function "
                "without a comment saying which import cost it defers"
            )
            continue
        owner = _owner(item.target, known)
        costly = item.target.split(".")[0] in HEAVY or (
            owner is not None
            and (
                owner in heavy
                or any(
                    ".".join(owner.split(".")[:i]) in heavy for i in range(1, owner.count(".") + 1)
                )
            )
        )
        if not costly:
            problems.append(
                f"{name}:{item.line}: import of {item.target} inside a function "
                "defers no import cost; import it at the top of the module"
            )
    return problems


_ENVIRONMENT_NAMES = {"environ", "getenv", "environb", "getenvb"}


def _environment_problems(name: str, tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENVIRONMENT_NAMES:
            problems.append(f"{name}:{node.lineno}: reads the environment ({node.attr})")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in _ENVIRONMENT_NAMES:
                    problems.append(f"{name}:{node.lineno}: reads the environment ({alias.name})")
        elif isinstance(node, ast.Call) and _called_name(node.func) == "PyTorchExecutionConfig":
            problems.append(
                f"{name}:{node.lineno}: builds PyTorchExecutionConfig(), whose "
                "sources read PTYCHO_*; take the settings as an argument"
            )
    return problems


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _circles(edges: dict[str, list[Import]], known: set[str]) -> list[str]:
    graph = {
        name: sorted(
            {owner for item in imports if (owner := _owner(item.target, known)) and owner != name}
        )
        for name, imports in edges.items()
    }
    # a subpackage imports its __init__ on the way: an import of a.b.c also runs a.b, but that
    # is Python's, not an edge of the code, so only the named modules count
    return [
        f"circle: {' → '.join([*component, component[0]])}"
        for component in _strongly_connected(graph)
        if len(component) > 1
    ]


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components
