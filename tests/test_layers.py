"""The package's rooms form layers: no module imports a higher room (imports inside functions included), the import
graph has no cycle, and nothing is imported by a name computed at run time (read from a file)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "specvae"
# lowest first; a module may import its own room and the rooms below it
LAYERS = [
    ("specvae", "specvae.errors", "specvae.schema", "specvae.progress", "specvae.outputs", "specvae.settings",
     "specvae.threads", "specvae.caches"),
    ("specvae.readers",),
    ("specvae.chem",),
    ("specvae.datasets",),
    ("specvae.ingest",),
    ("specvae.models",),
    ("specvae.training",),
    ("specvae.retrieval",),
    ("specvae.bench",),
    ("specvae.demo",),
    ("specvae.cli", "specvae.__main__"),
]
LEVEL = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if ".".join(parts[:2]) in LEVEL else "specvae"


def imports(module: str, path: Path, known: dict) -> set[str]:
    """Every specvae module ``module`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(parent[: len(parent) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("specvae") and name != module and not module.startswith(name + "."):
                found.add(name)
    return found


def test_every_module_has_a_room():
    assert not [m for m in modules() if room(m) == "specvae" and m not in LAYERS[0]]


def test_no_module_imports_a_higher_room():
    known = modules()
    upward = [f"{m} -> {t}" for m, path in known.items() for t in imports(m, path, known)
              if LEVEL[room(t)] > LEVEL[room(m)]]
    assert not upward, "imports of a higher layer: " + "; ".join(sorted(upward))


def test_the_import_graph_has_no_cycle():
    known = modules()
    graph = {m: imports(m, path, known) for m, path in known.items()}
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for t in graph[m]:
            if state.get(t) == 1:
                cycle = trail[trail.index(t):] + [t]
                if not all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif t not in state:
                visit(t, trail + [t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_nothing_is_imported_by_a_computed_name():
    dynamic = []
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr == "import_module") or (
                    isinstance(node, ast.Name) and node.id == "__import__"):
                dynamic.append(m)
    assert not dynamic


def test_the_package_imports_neither_matchms_nor_scikit_fingerprints():
    """They are extras (test, bench): only the tests and benchmarks that compare against them import them."""
    found = []
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{m} imports {n}" for n in names if n.split(".")[0] in ("matchms", "skfp")]
    assert not found
