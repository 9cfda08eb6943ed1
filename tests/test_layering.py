"""The import layering of DESIGN.md's Layout table, checked on every module's imports (parsed with ast,
including the imports inside functions, which is how lazy imports are done here; imports under
`if TYPE_CHECKING:` are left out: they never run).

Rules:
- A subpackage imports only the subpackages its row allows, and what those may import in turn:
  models -> kernels, runtime; export -> models; quantization -> export; targets -> export, quantization,
  runtime; runtime -> kernels; kernels -> none. talkies/ (the API and CLI), benchmarks/ and tests/ may
  import everything.
- BASE (errors, logging, choice types, paths, atomic file I/O, third-party SDK settings) is the shared
  base every layer may use; it imports only BASE itself. The root package `talkies` (its __init__, run by
  any import of talkies.*) may be imported by all, for `__version__`.
- kernels/ imports nothing but the standard library, numpy, numba and BASE.
- runtime/ and kernels/ never import torch.
- No import cycles between modules (lazy imports count: they only defer one).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from talkies.paths import SUBPACKAGES

ROOT = Path(__file__).resolve().parent.parent
BASE = frozenset({"talkies.errors", "talkies.log", "talkies.types", "talkies.paths", "talkies.io", "talkies.sdk"})
EVERYTHING = frozenset({"talkies", *SUBPACKAGES})
MAY_IMPORT: dict[str, frozenset[str]] = {
    "talkies": EVERYTHING,
    "benchmarks": EVERYTHING,
    "tests": EVERYTHING,
    "models": frozenset({"kernels", "runtime"}),
    "export": frozenset({"models"}),
    "quantization": frozenset({"export"}),
    "targets": frozenset({"export", "quantization", "runtime"}),
    "runtime": frozenset({"kernels"}),
    "kernels": frozenset(),
}
KERNEL_PACKAGES = frozenset({"numpy", "numba", "llvmlite"})  # llvmlite: numba's own IR builder, for intrinsics
NO_TORCH = frozenset({"runtime", "kernels"})


def _closure(layer: str) -> frozenset[str]:
    seen: set[str] = set()
    todo = [layer]
    while todo:
        for dep in MAY_IMPORT[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return frozenset(seen | {layer})


ALLOWED = {layer: _closure(layer) for layer in MAY_IMPORT}


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository root
    line: int
    module: str  # absolute dotted name

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "talkies" else ["talkies", *parts])


def _sources() -> dict[str, Path]:
    files = [p for folder in ("talkies", *SUBPACKAGES) for p in sorted((ROOT / folder).rglob("*.py"))]
    return {_module_name(p): p for p in files if "__pycache__" not in p.parts}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def parse_imports(path: Path, module: str, modules: dict[str, Path], rel: str | None = None) -> list[Import]:
    """Every import of the file, at any depth, as absolute module names: `from pkg import name` is
    pkg.name when that is a module of the project, else pkg."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    rel = rel or str(path.relative_to(ROOT))
    found: list[Import] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found += [Import(rel, node.lineno, f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
                      for a in node.names]
    return sorted(set(found), key=lambda i: (i.line, i.module))


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name is (or lives in), None for a third-party one."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "talkies"


def _graph() -> tuple[dict[str, Path], dict[str, list[Import]]]:
    modules = _sources()
    return modules, {m: parse_imports(p, m, modules) for m, p in modules.items()}


def violations(modules: dict[str, Path], imports: dict[str, list[Import]]) -> list[tuple[Import, str]]:
    """(import, the rule it breaks) for every import against the rules above."""
    out: list[tuple[Import, str]] = []
    for module, found in imports.items():
        layer = layer_of(module)
        for imp in found:
            top = imp.module.split(".")[0]
            target = _resolve(imp.module, modules) if top == "talkies" else None
            if top == "talkies" and target is None:
                continue  # a name inside a module, already counted as the module's import
            if layer in NO_TORCH and top == "torch":
                out.append((imp, f"{layer}/ never imports torch"))
            if layer == "kernels" and top != "talkies" and top not in KERNEL_PACKAGES \
                    and top not in sys.stdlib_module_names:
                out.append((imp, "kernels/ imports only numpy, numba (with its llvmlite) and the standard library"))
            if target is None or target == "talkies":
                continue
            to = layer_of(target)
            if to == "base" or (layer == "talkies" and module not in BASE):
                continue
            if layer == "base":
                out.append((imp, f"the base modules ({', '.join(sorted(BASE))}) import only each other"))
            elif to not in ALLOWED[layer]:
                out.append((imp, f"{layer}/ may import {', '.join(sorted(ALLOWED[layer] - {layer})) or 'no other layer'}"
                                 f" (DESIGN.md, Layout), not {to}/"))
    return sorted(set(out), key=lambda v: (v[0].file, v[0].line, v[0].module))


def cycles(modules: dict[str, Path], imports: dict[str, list[Import]]) -> list[tuple[str, ...]]:
    """The module cycles (strongly connected components of more than one module), sorted."""
    edges = {m: sorted({t for i in found if (t := _resolve(i.module, modules)) and t != m}) for m, found in imports.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[tuple[str, ...]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
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
                out.append(tuple(sorted(component)))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def _cycle_path(component: tuple[str, ...], imports: dict[str, list[Import]], modules) -> str:
    members = set(component)
    lines = [f"{i.where} imports {t}" for m in component for i in imports[m]
             if (t := _resolve(i.module, modules)) in members and t != m]
    return "; ".join(sorted(set(lines)))


def test_imports_follow_the_layering():
    modules, imports = _graph()
    found = violations(modules, imports)
    assert not found, "imports that break the layering:\n" + "\n".join(
        f"{i.where}: imports {i.module}: {rule}" for i, rule in found)


def test_no_import_cycles():
    modules, imports = _graph()
    found = cycles(modules, imports)
    assert not found, "import cycles:\n" + "\n".join(
        f"{' <-> '.join(c)}: {_cycle_path(c, imports, modules)}" for c in found)


@pytest.mark.parametrize(("source", "module", "rule"), [
    ("import torch\n", "talkies.runtime.fake", "runtime/ never imports torch"),
    ("def f():\n    from talkies.quantization.config import QuantizationConfig\n", "talkies.export.fake",
     "export/ may import kernels, models, runtime (DESIGN.md, Layout), not quantization/"),
    ("import scipy\n", "talkies.kernels.fake", "kernels/ imports only numpy, numba"),
    ("from talkies.runtime import bundle\n", "talkies.errors", "the base modules"),
    ("from ..targets import base\n", "talkies.runtime.fake", "runtime/ may import kernels (DESIGN.md, Layout), not targets/"),
])
def test_a_new_violation_is_caught(tmp_path, source, module, rule):
    """The checker itself: lazy and relative imports count, and the message names file:line and the rule."""
    modules, imports = _graph()
    path = tmp_path / "fake.py"
    path.write_text(source)
    imports = {**imports, module: parse_imports(path, module, modules, rel="fake.py")}
    found = [(i, r) for i, r in violations({**modules, module: path}, imports) if i.file == "fake.py"]
    assert len(found) == 1 and found[0][1].startswith(rule), found
    assert found[0][0].where == f"fake.py:{source.count(chr(10))}"


def test_a_new_cycle_is_caught():
    modules, imports = _graph()
    back = Import("models/lipsync/phonemes.py", 99, "talkies.models.lipsync.evaluate")
    imports = {**imports, "talkies.models.lipsync.phonemes": [*imports["talkies.models.lipsync.phonemes"], back]}
    pair = {"talkies.models.lipsync.evaluate", "talkies.models.lipsync.phonemes"}
    assert not any(pair <= set(c) for c in cycles(*_graph()))
    assert any(pair <= set(c) for c in cycles(modules, imports))


def test_setup_maps_the_subpackages_the_package_names():
    tree = ast.parse((ROOT / "setup.py").read_text())
    listed = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == "SUBPACKAGES" for t in node.targets))
    assert tuple(ast.literal_eval(listed)) == SUBPACKAGES
