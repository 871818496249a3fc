"""The operations reference (``docs/operations.md``), generated from the registered specs so it
cannot go stale: ``imgstudio ops --markdown`` prints it, a test checks the file is current."""

from __future__ import annotations

from collections.abc import Iterable

from imgstudio.core.kinds import plain
from imgstudio.core.spec import OperationSpec


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _param(p) -> str:
    text = f"`{p.name}`" if p.required else f"`{p.name}={plain(p.default)!r}`".replace("'", "")
    if p.choices:
        text += " (" + ", ".join(str(plain(c)) for c in p.choices) + ")"
    elif p.lo is not None or p.hi is not None:
        lo = "" if p.lo is None else f"{p.lo:g}"
        hi = "" if p.hi is None else f"{p.hi:g}"
        text += f" [{lo}, {hi}]"
    return text


def builtin(specs: Iterable[OperationSpec]) -> list[OperationSpec]:
    """The operations imgstudio itself ships (``imgstudio.ops``), not plugins' or tests'."""
    return [s for s in specs if getattr(s.func, "__module__", "").startswith("imgstudio.ops.")]


def operations_markdown(specs: Iterable[OperationSpec]) -> str:
    """A Markdown page of the built-in operations among ``specs``: one table per family — id,
    what it does, inputs, parameters, output, menu."""
    specs = sorted(builtin(specs), key=lambda s: s.id)
    families: dict[str, list[OperationSpec]] = {}
    for spec in specs:
        families.setdefault(spec.family, []).append(spec)
    lines = [
        "# Operations",
        "",
        f"{len(specs)} operations in {len(families)} families. Generated from the operations' "
        "own declarations by `imgstudio ops --markdown > docs/operations.md`; a test keeps it "
        "current. Every one runs in the editor (its menu is given), from the command line "
        "(`imgstudio run ID INPUT -o OUTPUT -p NAME=VALUE`) and from Python "
        "(`imgstudio.api.run(ID, image, name=value)`).",
        "",
    ]
    for family, members in families.items():
        lines += [f"## {family} ({len(members)})", "",
                  "| id | what it does | inputs | parameters | output | menu |",
                  "|---|---|---|---|---|---|"]
        for spec in members:
            inputs = ", ".join(f"`{i.name}`{'?' if i.optional else ''} ({i.kind.value})"
                               for i in spec.inputs) or "—"
            params = ", ".join(_param(p) for p in spec.params) or "—"
            out = spec.output.result_type.__name__ if spec.output.result_type else spec.output.kind
            lines.append(f"| `{spec.id}` | {_cell(spec.summary)} | {_cell(inputs)} | "
                         f"{_cell(params)} | {out} | {_cell(spec.menu)} |")
        lines.append("")
    return "\n".join(lines)
