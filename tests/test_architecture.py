"""The layering and pure-module contracts of pyproject.toml `[tool.importlinter]` hold.

`lint-imports` runs in a subprocess (it builds its import graph from the files on disk, so
the test needs no Django). See docs/architecture.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("tenancy", "segments", "content", "analytics", "experiments", "delivery", "personalize")
# Installed next to the interpreter by the `dev` extra.
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[dev]'"
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, f"Broken import contract:\n{result.stdout}{result.stderr}"
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers_contract(tmp_path: Path) -> None:
    for app in APPS:
        shutil.copytree(
            ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    models = tmp_path / "tenancy" / "models.py"
    models.write_text(models.read_text() + "\nimport delivery.engine  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    out = result.stdout
    assert "Apps are layered: imports only point down BROKEN" in out, out
    assert "tenancy is not allowed to import delivery" in out, out
    assert "tenancy.models -> delivery.engine" in out, out
    # The pure-module contracts are untouched by an import into tenancy.
    assert "delivery.engine imports only pure app code KEPT" in out, out
