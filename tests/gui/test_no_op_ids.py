"""The GUI knows no operation by id: what an op needs in the editor is in its spec.

Two checks over every module under ``imgstudio/gui/`` (wizards and dialogs included):

- no registered op id appears anywhere in the text (code, strings, docstrings, comments);
- no string literal starts with an op family and a dot (``"faces."``, ``"search." + name``),
  so an id cannot be put together from pieces either.

A wizard runs ops through :func:`imgstudio.api.run`, by the ids its op's spec declares
(:class:`imgstudio.core.editor.Wizard`); a dialog the ops do not declare is not offered.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import imgstudio.api as api

GUI = Path(__file__).resolve().parents[2] / "imgstudio" / "gui"
#: The catalog's families, including those whose ops are not written yet.
CATALOG_FAMILIES = {"basic", "artistic", "enhance", "edges", "restore", "binary", "measure",
                    "segment", "register", "faces", "search", "classify", "detect", "generate",
                    "train"}


def _modules() -> list[Path]:
    files = sorted(GUI.rglob("*.py"))
    assert len(files) > 30  # the whole GUI package is read
    return files


def test_no_registered_op_id_is_written_in_gui_code():
    ids = [spec.id for spec in api.list_operations()]
    assert len(ids) >= 99
    found = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        for op_id in ids:
            if re.search(rf"(?<![\w.]){re.escape(op_id)}(?!\w)", text):
                found.append(f"{path.relative_to(GUI)}: {op_id}")
    assert found == []


def test_no_gui_string_starts_an_op_id():
    families = CATALOG_FAMILIES | {spec.family for spec in api.list_operations()}
    prefix = re.compile(rf"^({'|'.join(sorted(families))})\.(\w|$)")
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and prefix.match(node.value.strip()):
                found.append(f"{path.relative_to(GUI)}:{node.lineno}: {node.value[:40]!r}")
    assert found == []


def test_the_checks_would_catch_an_id():
    """The patterns above do match an id written or assembled the usual ways."""
    ids = [spec.id for spec in api.list_operations()]
    sample = 'run("segment.random_walker")  # and faces.detect\nop = "faces." + name\n'
    assert [i for i in ids if re.search(rf"(?<![\w.]){re.escape(i)}(?!\w)", sample)] == [
        "faces.detect", "segment.random_walker"]
    prefix = re.compile(r"^(faces|segment)\.(\w|$)")
    constants = [n.value for n in ast.walk(ast.parse(sample)) if isinstance(n, ast.Constant)]
    assert [c for c in constants if prefix.match(c)] == ["segment.random_walker", "faces."]
