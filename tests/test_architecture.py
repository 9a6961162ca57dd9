"""The import graph, read from the source with an AST walk (every import, at module level or inside
a function): no cycles, and the layers point one way. `moderation` is the pure filter layer,
`model` the local models, `bot` the runtime around them; adapters are platform I/O and see the
runtime only through their contract (bot/adapters/base.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "model", "moderation")
ADAPTERS_MAY_IMPORT = ("bot.adapters", "bot.config", "bot.storage")
"""what of `bot` an adapter may use: its contract, its settings, and the stored records it carries out"""


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    # an import of a package's name counts as an edge to its __init__; a symbol is not a module
    return {n for n in names if n in known and n != module}


def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_checker_finds_a_cycle_and_a_wrong_way_import() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    edges = graph()
    assert "bot.runtime.pipeline" in edges["bot.runtime.service"]  # the walk sees real imports
    assert "moderation.decider" in edges["bot.runtime.pipeline"]


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("moderation", ("bot", "model")),
        ("model", ("bot",)),
        # the serving path never needs the offline lab or the command line
        ("bot.runtime", ("bot.lab", "bot.cli")),
        ("bot.storage", ("bot.lab", "bot.cli", "bot.runtime", "bot.web")),
        ("bot.adapters", ("bot.lab", "bot.cli")),
        ("bot.lab", ("bot.cli", "bot.web")),
    ],
)
def test_layers_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = {
        (module, target)
        for module, targets in graph().items()
        if _in(module, package)
        for target in targets
        if any(_in(target, f) for f in forbidden)
    }
    assert wrong == set()


def test_adapters_see_the_runtime_only_through_their_contract() -> None:
    wrong = {
        (module, target)
        for module, targets in graph().items()
        if _in(module, "bot.adapters")
        for target in targets
        if _in(target, "bot") and not any(_in(target, allowed) for allowed in ADAPTERS_MAY_IMPORT)
    }
    assert wrong == set()


def _platform(module: str) -> str | None:
    """bot.adapters.discord.convert -> discord; the contract (base) and the package are no platform."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["bot", "adapters"] and parts[2] != "base" else None


def test_no_adapter_imports_another() -> None:
    crossing = {
        (module, target)
        for module, targets in graph().items()
        for target in targets
        if _platform(module) and _platform(target) and _platform(module) != _platform(target)
    }
    assert crossing == set()


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _too_long() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT).as_posix()
            if len(source.splitlines()) > MAX_MODULE_LINES:
                found.add(name)
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                        found.add(f"{name}:{node.name}")
    return found


def test_modules_and_functions_stay_short() -> None:
    assert _too_long() == set(), f"modules over {MAX_MODULE_LINES} lines or functions over {MAX_FUNCTION_LINES}"


def test_the_length_check_sees_a_long_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (package / "long.py").write_text(f"def f() -> None:\n{body}")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("bot",))
    assert _too_long() == {"bot/long.py:f"}
