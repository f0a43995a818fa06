"""Lower apps never import upper ones, apps.ml imports no Django and no app, and no two apps
import each other, checked by reading every module of apps/ with `ast` (nothing is imported).

The layers: core <- patients <- smears, hemograms <- analysis <- review <- reports <- workflow
<- api; apps.ml is a plain library any app may use. Imports inside functions count: one written
only to dodge a circle is a sign the code is in the wrong place.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"

# What each app may import, besides itself. smears and hemograms are siblings: neither imports the
# other. A new app is declared here with its place before its first import is accepted.
_BASE = {"ml", "core"}
MAY_IMPORT: dict[str, set[str]] = {
    "ml": set(),
    "core": {"ml"},
    "patients": _BASE,
    "smears": _BASE | {"patients"},
    "hemograms": _BASE | {"patients"},
    "analysis": _BASE | {"patients", "smears", "hemograms"},
    "review": _BASE | {"patients", "smears", "hemograms", "analysis"},
    "reports": _BASE | {"patients", "smears", "hemograms", "analysis", "review"},
    # The one layer that chains the stages, and the pages and commands that start a chain.
    "workflow": _BASE | {"patients", "smears", "hemograms", "analysis", "review", "reports"},
    "api": _BASE | {"patients", "smears", "hemograms", "analysis", "review", "reports",
                    "workflow"},
}
# Packages apps.ml must not use: it runs without Django (training/, the command line).
NOT_IN_ML = {"django", "rest_framework", "celery", "drf_spectacular"}

# Known violations, each a (module, app it imports) pair with the reason it is still there. The
# test fails when one disappears, so the list only shrinks. Empty since apps.workflow chains the
# stages and the pages gathering several stages moved there.
KNOWN: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            # `from apps import analysis` imports the app, not only the package apps.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _app(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "apps" else None


def _imports() -> dict[str, dict[str, set[str]]]:
    """app -> module -> the other apps it imports."""
    found: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for path in sorted(APPS.rglob("*.py")):
        module = _module_name(path)
        own = _app(module)
        if own is None:
            continue
        found[own][module] = {a for n in _imported(path) if (a := _app(n)) not in (None, own)}
    return found


def _app_dirs() -> set[str]:
    return {p.parent.name for p in APPS.glob("*/__init__.py")}


def test_every_app_has_a_place_in_the_layers():
    assert _app_dirs() == set(MAY_IMPORT), "declare each app of apps/ in MAY_IMPORT"


def test_no_app_imports_an_app_above_it():
    problems = [
        f"{module} imports apps.{other}"
        for app, modules in _imports().items()
        for module, others in modules.items()
        for other in sorted(others)
        if other not in MAY_IMPORT.get(app, set()) and (module, other) not in KNOWN
    ]
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_the_known_violations_still_exist():
    # A fixed violation is removed from KNOWN, so that it cannot come back unnoticed.
    imports = _imports()
    present = {(m, o) for modules in imports.values() for m, others in modules.items()
               for o in others}
    assert not set(KNOWN) - present, f"fixed, remove from KNOWN: {sorted(set(KNOWN) - present)}"


def test_ml_imports_no_django_and_no_app():
    problems = []
    for path in sorted((APPS / "ml").rglob("*.py")):
        for name in _imported(path):
            top = name.split(".")[0]
            if top in NOT_IN_ML or (_app(name) not in (None, "ml")):
                problems.append(f"{_module_name(path)} imports {name}")
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_apps():
    graph: dict[str, set[str]] = defaultdict(set)
    for app, modules in _imports().items():
        for module, others in modules.items():
            graph[app].update(o for o in others if (module, o) not in KNOWN)
    cycles = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(app: str, path: list[str]) -> None:
        state[app] = 1
        here = [*path, app]
        for other in sorted(graph[app]):
            if state.get(other) == 1:
                cycles.append(" -> ".join([*here[here.index(other):], other]))
            elif other not in state:
                visit(other, here)
        state[app] = 2

    for app in sorted(graph):
        if app not in state:
            visit(app, [])
    assert not cycles, "import cycles between apps:\n" + "\n".join(cycles)
