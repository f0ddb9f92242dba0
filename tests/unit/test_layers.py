"""The layers of DESIGN.md §2 hold: core <- jobs <- workers <- {webapp, scheduler}; cli on top."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "core": {"flask", "dramatiq", "jobs", "workers", "webapp", "scheduler", "cli", "werkzeug"},
    "jobs": {"flask", "dramatiq", "workers", "webapp", "scheduler", "cli", "werkzeug"},
    "workers": {"flask", "webapp", "scheduler", "cli", "werkzeug"},
    "scheduler": {"flask", "webapp", "cli"},
    "webapp": {"scheduler", "cli"},
    "migrations": {"flask", "dramatiq", "workers", "webapp", "scheduler", "cli"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_package_imports_a_layer_above_it_or_a_framework_it_must_not_know() -> None:
    violations = []
    for package, banned in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = _imports(path) & banned
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def test_the_checker_sees_a_violation_when_there_is_one(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\nfrom flask import Flask\nimport dramatiq.brokers\n")
    assert {"flask", "dramatiq"} <= _imports(f)
