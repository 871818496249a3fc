"""docs/operations.md is generated from the registered operations and must be current."""

from __future__ import annotations

from pathlib import Path

import imgstudio.api as api
from imgstudio.core.reference import builtin, operations_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_the_operations_reference_is_current():
    current = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    generated = operations_markdown(api.list_operations())
    assert current == generated, (
        "docs/operations.md is stale: run .venv/bin/imgstudio ops --markdown > docs/operations.md")


def test_the_reference_lists_every_operation_with_its_parameters():
    text = operations_markdown(api.list_operations())
    specs = builtin(api.list_operations())
    assert f"{len(specs)} operations" in text
    for spec in specs:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{spec.id}` |"))
        for p in spec.params:
            assert f"`{p.name}" in row, (spec.id, p.name)


def test_the_docs_point_at_nothing_outside_the_repository():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/design" not in text, path


def test_the_cli_prints_the_reference(capsys):
    from imgstudio import cli

    assert cli.main(["ops", "--markdown"]) == 0
    assert capsys.readouterr().out == operations_markdown(api.list_operations())
