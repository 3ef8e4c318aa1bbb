"""dvc.yaml lists every library module a stage imports, so a change anywhere in them reruns the stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

SRC = ROOT / "src"


def module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported(path: Path) -> set[Path]:
    """tokshift module files `path` imports (top level and inside functions), each with its package __init__s."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.startswith("tokshift.") and (found := module_path(name)):
                out.add(found)
    return out


def closure(script: Path) -> set[Path]:
    seen, todo = set(), [script]
    while todo:
        for dep in imported(todo.pop()) - seen:
            seen.add(dep)
            todo.append(dep)
    return {p for p in seen if p.name != "__init__.py" or p.read_text(encoding="utf-8").strip().startswith('"""')}


def stages() -> dict[str, dict]:
    """The stages of dvc.yaml and of every pipeline preset (presets/*/dvc.yaml, whose paths are from the root too)."""
    out = {}
    for path in [ROOT / "dvc.yaml", *sorted((ROOT / "presets").glob("*/dvc.yaml"))]:
        for name, stage in yaml.safe_load(path.read_text(encoding="utf-8"))["stages"].items():
            out[f"{path.relative_to(ROOT)}:{name}"] = stage
    return out


@pytest.mark.parametrize("name", sorted(stages()))
def test_every_imported_module_is_a_dependency(name):
    stage = stages()[name].get("do", stages()[name])
    deps = [ROOT / d for d in stage["deps"] if "$" not in d]
    script = next(d for d in deps if d.parent.name == "stages")
    missing = sorted(str(m.relative_to(ROOT)) for m in closure(script)
                     if m.name != "__init__.py" and not any(m == d or d in m.parents for d in deps))
    assert not missing, f"dvc.yaml: stage {name} imports but does not depend on {missing}"
