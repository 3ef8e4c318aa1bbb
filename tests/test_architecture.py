"""The package's shape: layers that only import downward, no import cycles, short modules."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tokshift"

# Bottom to top; a package may import its own modules and any package on an earlier line.
LAYERS = [
    {"core"},
    {"data"},
    {"tokenization"},
    {"model", "stats", "mixture"},
    {"heuristics", "bytelevel", "compounds"},
    {"hypernet"},
    {"transfers"},
    {"dynamic"},
    {"large_vocab"},
    {"evaluation", "encoders"},
    {"adapt"},
    {"presets", "plots", "stage"},
    {"__init__", "cli"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
MAX_LINES = 300


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, known: set[str]) -> set[str]:
    """tokshift modules `path` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known and n.startswith("tokshift.") and n != "tokshift"}
    return found


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in modules()}
    assert packages <= set(RANK), f"add {sorted(packages - set(RANK))} to LAYERS"


def test_no_module_imports_a_package_above_its_own():
    mods = modules()
    upward = []
    for mod, path in mods.items():
        for target in imports_of(path, set(mods)):
            src, dst = package_of(mod), package_of(target)
            if src != dst and RANK[dst] >= RANK[src]:
                upward.append(f"{mod} -> {target}")
    assert not upward, "imports that run upward or sideways:\n" + "\n".join(upward)


def test_there_are_no_import_cycles():
    mods = modules()
    graph = {m: imports_of(p, set(mods)) - {m} for m, p in mods.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if nxt not in state and visit(nxt, stack + [node]):
                return True
        state[node] = 2
        return False

    for mod in sorted(graph):
        if mod not in state and visit(mod, []):
            break
    assert not cycle, " -> ".join(cycle)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by idea"


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path):
    (tmp_path / "a.py").write_text("from tokshift.hypernet.loop import Trainer\n")
    assert imports_of(tmp_path / "a.py", {"tokshift.hypernet.loop"}) == {"tokshift.hypernet.loop"}
    (tmp_path / "b.py").write_text("def f():\n    import tokshift.core.params\n")
    assert imports_of(tmp_path / "b.py", {"tokshift.core.params"}) == {"tokshift.core.params"}
