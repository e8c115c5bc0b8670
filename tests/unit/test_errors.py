"""The one exception tree: every error class lives in errors.py, derives from
EventyardError, and is drawn in the diagram at the top of the module."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from eventyard import errors

SRC = Path(__file__).resolve().parents[2] / "src" / "eventyard"


def test_no_exception_class_is_defined_outside_errors_py() -> None:
    elsewhere = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception"))
                for b in node.bases
            ):
                elsewhere.append(f"{path.relative_to(SRC)}: {node.name}")
    assert elsewhere == []


def test_every_error_is_in_the_tree_and_in_the_diagram() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) >= 10
    doc = errors.__doc__ or ""
    for c in classes:
        assert issubclass(c, errors.EventyardError), c
        assert f" {c.__name__}\n" in doc or f"── {c.__name__} " in doc, c
