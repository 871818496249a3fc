"""A CT slice (int16 Hounsfield units in NIfTI) opened in the real editor: it loads by the
documented rule (uint16 = HU + 32768), renders, and an operation applied from its menu action
works on it and undoes."""

from __future__ import annotations

import numpy as np

from tests.core.test_io_medical_ct import SHIFT, _write_sitk, ct_slice


def test_a_ct_slice_opens_renders_and_takes_an_operation(window, tmp_path, qtbot):
    hu = ct_slice()
    path = tmp_path / "chest.nii.gz"
    _write_sitk(path, hu)
    assert window.files.open_files([str(path)]) == []
    layer = window.workspace.document[0]
    assert layer.data.dtype == np.uint16
    assert np.array_equal(layer.data.astype(np.int32) - SHIFT, hu)
    before = layer.data.copy()
    qtbot.wait(50)
    shot = window.canvas.grab().toImage()
    assert shot.width() > 0 and len({shot.pixel(x, shot.height() // 2)
                                     for x in range(0, shot.width(), 7)}) > 3
    window.op_actions["basic.invert"].trigger()
    with qtbot.waitSignal(window.operation_panel.applied, timeout=10000):
        window.operation_panel.apply()
    inverted = window.workspace.document[0].data
    assert inverted.dtype == np.uint16 and np.array_equal(inverted, 65535 - before)
    window.act_undo.trigger()
    assert np.array_equal(window.workspace.document[0].data.astype(np.int32) - SHIFT, hu)
