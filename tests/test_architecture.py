"""The import structure of malmoi: every module imports, and imports between modules run one way.

The graph is read from each file's syntax tree (:mod:`ast`), not from ``sys.modules``: an edge
``a -> b`` is any ``import`` or ``from ... import`` in module ``a`` that names module ``b`` of
malmoi, at module level or inside a function (a function-level import is still a dependency;
it only defers the cycle to run time). Imports under ``if TYPE_CHECKING:`` do not count: they
never run. Importing ``malmoi.x.y`` is an edge to ``malmoi.x.y`` and to the package
``malmoi.x``, whose ``__init__`` Python runs first (unless the importer is inside ``malmoi.x``,
which is then already running): that is how ``a.b -> c.d`` with ``c/__init__`` importing ``a.b``
fails as a "partially initialized module" in whichever order runs first. Imports by string
(``importlib``, registry targets like ``"malmoi.encode.encoders:CNNEncoder"``) are not seen.

A "package" below is the first level under malmoi: ``malmoi.data``, ``malmoi.settings``,
``malmoi.serve`` ...
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import malmoi

SOURCE = Path(malmoi.__file__).resolve().parent

# Cycles that exist today in code owned by the model-core work, to be removed there: a cycle
# made only of these edges passes. Each must still be a cycle (the tests fail once one is gone,
# so that these lists only shrink).
KNOWN_MODULE_CYCLES: list[tuple[str, ...]] = []
KNOWN_PACKAGE_CYCLES: list[tuple[str, ...]] = []
# Modules that fail to import today, and why; they must still fail.
KNOWN_BROKEN: dict[str, str] = {}

# Modules that import nothing of malmoi, so that anything may import them.
LEAVES = [
    "malmoi.component_settings",
    "malmoi.labels",
    "malmoi.metrics",
    "malmoi.serve.limits",
    "malmoi.templates",
]

# (importer, imported): the importer may use the imported, never the other way round, at any
# depth of either package.
ONE_WAY = [
    ("malmoi.dialogue", "malmoi.settings"),
    ("malmoi.data", "malmoi.settings"),
    ("malmoi.settings", "malmoi.components"),  # components declares its settings on malmoi.component_settings
    # The server: the runner and Ray build the app; the builder mounts the routes; routes ask the
    # bot source; the source, middleware and errors use the schema and settings; never backwards.
    ("malmoi.serve._server", "malmoi.serve.builder"),
    ("malmoi.serve.ray_app", "malmoi.serve.builder"),
    ("malmoi.serve.builder", "malmoi.serve.routes"),
    ("malmoi.serve.routes", "malmoi.serve.registry_source"),
    ("malmoi.serve.registry_source", "malmoi.serve.source"),
    ("malmoi.serve.source", "malmoi.serve.batching"),
    ("malmoi.serve.source", "malmoi.serve.guards"),
    ("malmoi.serve.middleware", "malmoi.serve.schema"),
    ("malmoi.serve.routes.kochat", "malmoi.serve.schema"),
    ("malmoi.serve.source", "malmoi.serve.settings"),
    ("malmoi.serve._server", "malmoi.serve.settings"),
    ("malmoi.serve.settings", "malmoi.serve.limits"),
    ("malmoi.entity", "malmoi.data"),
    ("malmoi.text", "malmoi.data"),
    ("malmoi.evaluate", "malmoi.entity"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module that an imported dotted name lives in: itself, or its nearest parent."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, source: str, is_package: bool = False) -> set[str]:
    """The malmoi modules that ``module`` imports anywhere in its body, TYPE_CHECKING aside."""
    found: set[str] = set()

    def visit(nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.Import):
                found.update(_resolve(a.name) for a in node.names if a.name.split(".")[0] == "malmoi")
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package of this module, up level - 1
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, base] if base else package)
                if base.split(".")[0] == "malmoi":
                    for alias in node.names:
                        full = f"{base}.{alias.name}"
                        found.add(full if full in MODULES else _resolve(base))
            else:
                visit(ast.iter_child_nodes(node))

    visit(ast.parse(source).body)
    found.discard(module)
    return found


def _with_packages(module: str, imported: set[str]) -> set[str]:
    """Add the packages that importing each module runs first (``malmoi.x`` for ``malmoi.x.y``),
    except ``module``'s own packages, which are already running when it is imported."""
    own = {module.rsplit(".", n)[0] for n in range(module.count(".") + 1)}
    found = set(imported)
    for name in imported:
        parts = name.split(".")
        found.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return found - own


GRAPH: dict[str, set[str]] = {
    m: _with_packages(m, _imports(m, p.read_text("utf-8"), p.name == "__init__.py")) for m, p in MODULES.items()
}


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        graph.setdefault(_package(module), set()).update(
            _package(m) for m in imported if _package(m) != _package(module)
        )
    return graph


def _components(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of two or more nodes (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of two or more nodes."""
    return [_cycle_in(graph, component) for component in _components(graph)]


def _check_cycles(graph: dict[str, set[str]], known: list[tuple[str, ...]], what: str) -> None:
    allowed = {edge for cycle in known for edge in itertools.pairwise(cycle)}
    new = []
    for component in _components(graph):
        edges = {(a, b) for a in component for b in graph[a] & component}
        if edges - allowed:
            new.append(f"{' -> '.join(_cycle_in(graph, component))}; edges not known: "
                       + ", ".join(f"{a} -> {b}" for a, b in sorted(edges - allowed)))
    assert not new, f"import cycles between {what} (a -> b: a imports b):\n  " + "\n  ".join(new)
    gone = [cycle for cycle in known if not all(b in graph.get(a, ()) for a, b in itertools.pairwise(cycle))]
    assert not gone, f"no longer cycles; remove them from the known {what} cycles: {gone}"


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path ``a -> b -> ... -> a`` inside a strongly connected component (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & component):
            if other == start:
                return [*paths[node], start]
            if other not in paths:
                paths[other] = [*paths[node], other]
                queue.append(other)
    raise AssertionError(f"no cycle in {component}")  # pragma: no cover - a component has one


def test_every_module_imports():
    """Each module imports, in one fresh interpreter (torch loads once), in name order.

    A module that imports only after another has run first passes here; the cycle tests below
    are the ones that catch it."""
    code = (
        "import importlib, json, sys, traceback\n"
        "failed = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(failed))\n"
    )
    names = sorted(m for m in MODULES if not m.endswith("__main__"))
    out = subprocess.run([sys.executable, "-c", code, json.dumps(names)], capture_output=True, text=True, check=True)
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    unexpected = {m: why for m, why in failed.items() if m not in KNOWN_BROKEN}
    assert not unexpected, "modules that do not import:\n" + "\n".join(f"  {m}: {w}" for m, w in unexpected.items())
    fixed = sorted(set(KNOWN_BROKEN) - set(failed))
    assert not fixed, f"these modules import now; remove them from KNOWN_BROKEN: {fixed}"


def test_no_import_cycles_between_modules():
    _check_cycles(GRAPH, KNOWN_MODULE_CYCLES, "modules")


def test_no_import_cycles_between_packages():
    _check_cycles(_package_graph(), KNOWN_PACKAGE_CYCLES, "packages")


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "imported"), ONE_WAY)
def test_dependencies_run_one_way(importer, imported):
    assert any(_within(m, importer) for m in MODULES) and any(_within(m, imported) for m in MODULES)
    backwards = sorted(
        f"{m} -> {other}"
        for m, targets in GRAPH.items()
        if _within(m, imported)
        for other in targets
        if _within(other, importer)
    )
    assert not backwards, f"{imported} must not import {importer}:\n  " + "\n  ".join(backwards)


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaf_modules_import_nothing_of_malmoi(leaf):
    assert not GRAPH[leaf], f"{leaf} imports {sorted(GRAPH[leaf])}"


def test_the_graph_reads_every_kind_of_import():
    source = """
import malmoi.data.tags
from malmoi import labels, __version__
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from malmoi.model.model import Model
else:
    from malmoi.errors import DataError
def f():
    from malmoi.serve.schema import ApiError
    from . import _server
"""
    assert _imports("malmoi.serve.app", source) == {
        "malmoi.data.tags", "malmoi.labels", "malmoi", "malmoi.errors", "malmoi.serve.schema", "malmoi.serve._server",
    }
    assert _with_packages("malmoi.encode.runtime", {"malmoi.model.artifact", "malmoi.encode.base"}) == {
        "malmoi.model.artifact", "malmoi.model", "malmoi.encode.base",
    }
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_nothing_imports_the_command_line():
    """``malmoi.cli`` is the top layer: the library and the server never import it (its modules may
    import each other, and ``_common`` none of the commands)."""
    backwards = sorted(
        f"{m} -> {other}"
        for m, targets in GRAPH.items()
        if not _within(m, "malmoi.cli")
        for other in targets
        if _within(other, "malmoi.cli")
    )
    assert not backwards, "modules that import the command line:\n  " + "\n  ".join(backwards)
    commands = sorted(m for m in GRAPH["malmoi.cli._common"] if _within(m, "malmoi.cli"))
    assert not commands, f"malmoi.cli._common imports commands: {commands}"
