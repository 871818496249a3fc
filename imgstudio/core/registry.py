"""The operation registry: built-in ``imgstudio.ops`` modules plus third-party plugins.

Third-party packages register modules through the entry-point group ``imgstudio.operations``
(each entry point names a module; importing it runs its ``@operation`` decorators). Discovery
imports only those modules, which by convention import nothing heavy at module level, so
listing every operation loads neither torch, SimpleITK, dlib nor scikit-learn.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import pkgutil
import threading

from imgstudio.core.spec import OperationSpec, declared_specs

ENTRY_POINT_GROUP = "imgstudio.operations"
BUILTIN_PACKAGE = "imgstudio.ops"

log = logging.getLogger(__name__)

_lock = threading.Lock()
_specs: dict[str, OperationSpec] | None = None
#: (plugin name, error message) for plugins that failed to load; shown by the CLI and GUI.
plugin_errors: list[tuple[str, str]] = []


def _import_builtin_modules() -> None:
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, prefix=BUILTIN_PACKAGE + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        importlib.import_module(info.name)


def _import_plugins() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            importlib.import_module(ep.value.split(":", 1)[0])
        except Exception as exc:  # a broken plugin must not take the editor down
            plugin_errors.append((ep.name, f"{type(exc).__name__}: {exc}"))
            log.warning("imgstudio plugin %s failed to load: %s", ep.name, exc)


def all_specs() -> dict[str, OperationSpec]:
    """Every registered operation by id, discovered on first call."""
    global _specs
    with _lock:
        if _specs is None:
            _import_builtin_modules()
            _import_plugins()
            _specs = dict(sorted(declared_specs().items()))
        return _specs


def refresh() -> dict[str, OperationSpec]:
    """Pick up operations imported since discovery (e.g. a plugin module loaded by hand)."""
    global _specs
    with _lock:
        _specs = None
    return all_specs()


def get(op_id: str) -> OperationSpec:
    """The spec of ``op_id``; ``KeyError`` with close matches when unknown."""
    specs = all_specs()
    try:
        return specs[op_id]
    except KeyError:
        close = difflib.get_close_matches(op_id, list(specs), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown operation {op_id!r}{hint}") from None
