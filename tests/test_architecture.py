"""The flow stays one-way (docs/architecture.md): no import cycles anywhere in the package,
and the layers below the CLI never import the layers above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "loganalyze"

# Lower layers must not import the modules of higher ones (function-level imports too).
FORBIDDEN = {
    "loganalyze.ingest": ("loganalyze.detectors", "loganalyze.analysis", "loganalyze.report",
                          "loganalyze.dod", "loganalyze.cli"),
    "loganalyze.detectors": ("loganalyze.analysis", "loganalyze.report", "loganalyze.dod",
                             "loganalyze.cli", "loganalyze.docs_sync"),
    "loganalyze.findings": ("loganalyze.analysis", "loganalyze.report", "loganalyze.dod",
                            "loganalyze.cli"),
    "loganalyze.analysis": ("loganalyze.report", "loganalyze.dod", "loganalyze.cli"),
    "loganalyze.dod": ("loganalyze.report", "loganalyze.cli"),
    # the report shows verdicts with the check's own renderer, never judges them itself
    "loganalyze.report": ("loganalyze.dod.evaluate", "loganalyze.dod.load", "loganalyze.cli"),
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / Path(*name.split(".")) / "__init__.py").is_file()


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("loganalyze")]
    if node.level:
        base = module.split(".")
        if not _is_package(module):
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("loganalyze"):
        return []
    out = [target]
    for alias in node.names:  # `from . import report` loads loganalyze.report
        candidate = f"{target}.{alias.name}"
        if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").is_file() or (
            _is_package(candidate)
        ):
            out.append(candidate)
    return out


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        edges = graph.setdefault(module, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and not _type_checking_only(node, parents):
                edges.update(t for t in _resolve(module, node) if t != module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def _without_parent_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop `submodule → its own package` edges: `from . import x` inside a package
    reads a sibling, and the package's __init__ has run before any submodule."""
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        out[module] = {t for t in targets if not module.startswith(t + ".")}
    return out


def test_the_package_has_no_import_cycle():
    graph = _without_parent_edges(import_graph())
    assert "loganalyze.report.model" in graph and "loganalyze.analysis" in graph
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(layer):
    graph = import_graph()
    offenders = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert offenders == []


def test_the_public_functions_work_after_their_packages_are_imported():
    """`la.ingest` and `la.synth` share names with packages: importing the package first
    (as any notebook or plugin may) must not turn the call into 'module not callable'."""
    import subprocess
    import sys

    code = (
        "import loganalyze as la, loganalyze.ingest, loganalyze.synth\n"
        "con = la.connect()\n"
        "summary = la.ingest([], con)\n"
        "print(type(summary).__name__, callable(la.synth))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["IngestSummary", "True"]
