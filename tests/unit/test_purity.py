"""The pure core is a package boundary: contract, taxonomy, platforms, policy, routing,
records and core never import the runtime stack (faust, aiokafka, prometheus_client)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "eventyard"
PURE_PACKAGES = ("contract", "taxonomy", "platforms", "policy", "routing", "signals")
PURE_MODULES = ("core.py", "records.py", "errors.py")
PURE_IMPORTS = [
    "eventyard.core", "eventyard.contract", "eventyard.taxonomy", "eventyard.platforms",
    "eventyard.policy",
    "eventyard.routing", "eventyard.routing.router", "eventyard.routing.pii",
    "eventyard.records", "eventyard.signals.engine", "eventyard.signals.derived",
    "eventyard.signals.observed",
]
# Third-party runtime stack, and our own modules that wrap it.
FORBIDDEN_ROOTS = {"faust", "mode", "aiokafka", "kafka", "prometheus_client"}
# Our own I/O rooms.
FORBIDDEN_OWN = (
    "eventyard.kafka", "eventyard.worker", "eventyard.commands", "eventyard.local",
    "eventyard.demo", "eventyard.telemetry", "eventyard.cli", "eventyard.metrics_server",
    "eventyard.signals_worker",
)


def _pure_files() -> list[Path]:
    files = [p for pkg in PURE_PACKAGES for p in sorted((SRC / pkg).rglob("*.py"))]
    return files + [SRC / m for m in PURE_MODULES]


def _forbidden_imports(source: str) -> list[str]:
    """Every import in `source` of the runtime stack, at any depth (functions included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_ROOTS or name.startswith(FORBIDDEN_OWN):
                found.append(name)
    return found


def test_the_checker_catches_each_import_form() -> None:
    source = "\n".join([
        "import faust", "import aiokafka.producer as p", "from prometheus_client import Counter",
        "def f():\n    from eventyard.worker import app", "from eventyard import telemetry",
        "import importlib\nimportlib.import_module('mode')",
        "import orjson", "from eventyard.routing import pii",
    ])
    assert sorted(_forbidden_imports(source)) == sorted([
        "faust", "aiokafka.producer", "prometheus_client", "prometheus_client.Counter",
        "eventyard.worker", "eventyard.worker.app", "eventyard.telemetry", "mode",
    ])


def test_there_are_pure_files_to_check() -> None:
    files = _pure_files()
    assert len(files) >= 20
    assert all(f.exists() for f in files)


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_does_not_import_the_runtime(path: Path) -> None:
    assert _forbidden_imports(path.read_text("utf-8")) == []


def test_importing_the_core_loads_no_runtime_module() -> None:
    code = (
        "import json, sys\n"
        + "".join(f"import {m}\n" for m in PURE_IMPORTS)
        + "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert "eventyard.core" in loaded and "eventyard.routing.router" in loaded
    bad = sorted(m for m in loaded
                 if m.split(".")[0] in FORBIDDEN_ROOTS or m.startswith(FORBIDDEN_OWN))
    assert bad == [], f"the pure core pulled in {bad}"


# Lower layers never import higher ones: the contract knows nothing of routing, and the
# Kafka layer nothing of the worker or the pure core it carries.
LAYERS = {
    "contract": ("eventyard.routing", "eventyard.policy"),
    "kafka": ("eventyard.worker", "eventyard.routing", "eventyard.policy", "eventyard.contract",
              "eventyard.core"),
}


def _own_imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return {name for name in found if name.startswith("eventyard")}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_dependencies_point_down(package: str) -> None:
    wrong = {
        f"{path.relative_to(SRC)}: {name}"
        for path in sorted((SRC / package).rglob("*.py"))
        for name in _own_imports(path.read_text("utf-8"))
        if name.startswith(LAYERS[package])
    }
    assert wrong == set()
