"""The size and direction rules of the developers' guide, read from the source (no service): no module of
podman_nb over 500 lines and notebook/magics.py at most 450, no function over 60 lines, no module setting an
attribute of another module at import, and no module importing from a layer above its own."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "podman_nb"
SOURCES = sorted(PACKAGE.rglob("*.py"))
# the layers, lowest first: a module may import from its own layer and those below, never from one above
LAYERS = (("base_errors.py", "errors.py", "failures.py"), ("api",),
          ("domain", "explore", "kernel", "kernels", "environment.py", "client.py"), ("notebook",))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _layer(parts: tuple) -> int:
    """The layer of a module given as its parts under podman_nb (``("domain", "manager")``); -1 when in none."""
    for level, members in enumerate(LAYERS):
        if parts[0] in members or f"{parts[0]}.py" in members:
            return level
    return -1


def _imported(path: Path, node: ast.ImportFrom) -> tuple:
    """The parts under podman_nb of what ``from ... import`` names (``()`` when outside podman_nb)."""
    here = path.relative_to(PACKAGE).parent.parts
    if node.level:
        base = here[:len(here) - node.level + 1] if node.level > 1 else here
    elif node.module and node.module.split(".")[0] == "podman_nb":
        return tuple(node.module.split(".")[1:]) or tuple(alias.name for alias in node.names[:1])
    else:
        return ()
    module = tuple(node.module.split(".")) if node.module else tuple(alias.name for alias in node.names[:1])
    return base + module


def test_no_module_is_too_long():
    lengths = {_name(path): len(path.read_text(encoding="utf-8").splitlines()) for path in SOURCES}
    assert {name: n for name, n in lengths.items() if n > 500} == {}
    assert lengths["notebook/magics.py"] <= 450


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - min([node.lineno] + [d.lineno for d in node.decorator_list]) + 1
                if length - len(node.decorator_list) > 60:
                    long.append(f"{_name(path)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_no_module_sets_another_modules_attribute_at_import():
    """A module-level ``other.NAME = ...`` (the way errors.SAY used to be set) patches another module."""
    patches = []
    for path in SOURCES:
        tree = _tree(path)
        imported = {alias.asname or alias.name.split(".")[0] for node in tree.body
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                root = target
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(target, ast.Attribute) and isinstance(root, ast.Name) and root.id in imported:
                    patches.append(f"{_name(path)}:{node.lineno}")
    assert patches == []


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_imports_point_down_the_layers(path):
    """transport (api) < domain (and kernels, explorer) < notebook; errors.py and failures.py under all. Imports made
    only for type checking may point anywhere."""
    here = _layer(path.relative_to(PACKAGE).parts)
    tree = _tree(path)
    hints = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
             for inner in ast.walk(node)}
    upward = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in hints:
            parts = _imported(path, node)
            if parts and _layer(parts) > here >= 0:
                upward.append(f"line {node.lineno}: {'.'.join(parts)}")
    assert upward == []


def test_vulture_finds_no_dead_code():
    """What vulture is sure of (80%: unused imports, variables, unreachable code) is gone."""
    found = subprocess.run([sys.executable, "-m", "vulture", str(PACKAGE), "--min-confidence", "80"],
                           capture_output=True, text=True, check=False)
    assert (found.returncode, found.stdout) == (0, ""), found.stdout + found.stderr
