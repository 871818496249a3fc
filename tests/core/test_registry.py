"""Registry discovery: built-in ops and third-party plugins through entry points."""

from __future__ import annotations

import sys
import types

import pytest

from imgstudio.core import registry


class FakeEntryPoint:
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value


@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(registry, "_specs", None)
    monkeypatch.setattr(registry, "plugin_errors", [])
    yield
    registry._specs = None


def test_builtin_basic_ops_are_registered():
    assert "basic.invert" in registry.all_specs()


def test_plugin_modules_from_entry_points_are_imported(monkeypatch, fresh_registry):
    source = (
        "from imgstudio.core.spec import operation\n"
        "from imgstudio.core.types import Image\n"
        "@operation('plugin.identity', title='Identity', menu='Plugins')\n"
        "def identity(image: Image) -> Image:\n"
        "    '''Return the image unchanged.'''\n"
        "    return image.copy()\n"
    )
    module = types.ModuleType("imgstudio_test_plugin")
    monkeypatch.setitem(sys.modules, "imgstudio_test_plugin", module)
    exec(compile(source, "imgstudio_test_plugin.py", "exec"), module.__dict__)
    monkeypatch.setattr(
        "importlib.metadata.entry_points",
        lambda group: [FakeEntryPoint("demo", "imgstudio_test_plugin")]
        if group == registry.ENTRY_POINT_GROUP else [],
    )
    specs = registry.all_specs()
    assert specs["plugin.identity"].menu == "Plugins"


def test_a_broken_plugin_is_reported_not_fatal(monkeypatch, fresh_registry):
    monkeypatch.setattr(
        "importlib.metadata.entry_points",
        lambda group: [FakeEntryPoint("broken", "imgstudio_no_such_module_xyz")]
        if group == registry.ENTRY_POINT_GROUP else [],
    )
    import logging

    logging.getLogger("imgstudio.core.registry").disabled = True
    try:
        specs = registry.all_specs()
    finally:
        logging.getLogger("imgstudio.core.registry").disabled = False
    assert "basic.invert" in specs
    assert registry.plugin_errors and registry.plugin_errors[0][0] == "broken"


def test_unknown_id_lists_close_matches():
    with pytest.raises(KeyError, match="basic.gamma"):
        registry.get("basic.gama")
