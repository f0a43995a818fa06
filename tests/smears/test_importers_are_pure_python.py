"""The importers run without Django: a service, a command or a notebook can use them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_package_loads_no_django() -> None:
    code = (
        "import sys; import apps.smears.importers as m; "
        "assert m.read_zip and m.read_folder and m.read_single and m.read_upload; "
        "bad = sorted(n for n in sys.modules if n == 'django' or n.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(  # noqa: S603 - fixed argv, no user input
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_django() -> None:
    offenders = []
    for path in (ROOT / "apps" / "smears" / "importers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "django"]
    assert offenders == []
