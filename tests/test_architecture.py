"""The package's imports, read from its source with ``ast``: no import circle, and the core never imports Textual.

Every import counts, a function's lazy one too (import-linter does not see them all); an import under
``if TYPE_CHECKING:`` does not, as it never runs. Relative imports are resolved, and ``from . import x``
counts as importing the submodule ``x`` where ``x`` is one. Importing ``a.b.c`` is not counted as importing
the packages ``a`` and ``a.b`` (as import-linter does): a package's ``__init__`` re-exporting its parts is
not a circle. Written for the flat package and for the one in folders by role alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gru_tui"
# The core: modules that never import Textual (the command line and `gru-tui trace` run without it).
# In folders by role these are gru_tui/core/*; before that, these flat modules.
FLAT_CORE = (
    "config",
    "errors",
    "kinds",
    "devices",
    "shapes",
    "tracing",
    "report",
    "report_types",
    "tree",
    "results",
    "summary",
    "code",
    "files",
)


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every Import and ImportFrom, at any depth, except in the body of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules (of the package, or outside it by their full dotted name) that ``module`` imports."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            submodule = f"{target}.{alias.name}"
            found.add(submodule if submodule in modules else target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        graph[module] = {m for m in imports_of(module, path, modules) if m in modules and m != module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each with one circle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:  # recursion depth is bounded by the package's ~50 modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_one_circle(graph, set(c)) for c in components]


def _one_circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest circle from the component's first module back to it, for the message."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(component)


# The one circle left on the flat layout, model.py <-> diagnose.py, is issue 18's: it replaces both modules by the
# gru_tui/model/ package. It is allowed only while both flat files exist, so it cannot outlive them.
LEFT_TO_ISSUE_18 = {"gru_tui.model", "gru_tui.diagnose"}


def core_modules(modules) -> list[str]:
    if (PACKAGE / "core").is_dir():
        return [m for m in modules if m == "gru_tui.core" or m.startswith("gru_tui.core.")]
    return [f"gru_tui.{name}" for name in FLAT_CORE if f"gru_tui.{name}" in modules]


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert len(graph) > 20
    cli = "gru_tui.cli.main" if "gru_tui.cli.main" in graph else "gru_tui.cli"
    assert any(
        m == "gru_tui.app" or m.startswith("gru_tui.app.") for m in graph[cli]
    )  # `from .app import make_app`, in a function


def test_no_import_circles():
    cycles = find_cycles(import_graph())
    if (PACKAGE / "model.py").is_file() and (PACKAGE / "diagnose.py").is_file():
        cycles = [c for c in cycles if set(c) != LEFT_TO_ISSUE_18]
    assert not cycles, "import circles (function-level imports included):\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_core_never_imports_textual():
    modules = _modules()
    offending = []
    for module in core_modules(modules):
        for imported in imports_of(module, modules[module], modules):
            if imported == "textual" or imported.startswith(("textual.", "textual_serve", "gru_tui.app")):
                offending.append(f"{module} imports {imported}")
    assert core_modules(modules), "no core modules found"
    assert not offending, "\n".join(offending)


def test_find_cycles_names_a_circle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
