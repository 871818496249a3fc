"""A minimal ONNX writer for the detection tests.

``torch.onnx.export`` needs the ``onnx`` package, which is not installed, so the tests' tiny
models are written directly in protobuf's wire format (a dozen fields of ``onnx.proto``);
onnxruntime and OpenCV load them like any exported model.
"""

from __future__ import annotations

import numpy as np

FLOAT, INT64 = 1, 7  # onnx TensorProto data types


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def tensor(name: str, array, dtype: int = FLOAT) -> bytes:
    """A TensorProto (dims 1, data_type 2, name 8, raw_data 9)."""
    a = np.ascontiguousarray(array, dtype=np.float32 if dtype == FLOAT else np.int64)
    return (b"".join(_int(1, d) for d in a.shape) + _int(2, dtype) + _bytes(8, name)
            + _bytes(9, a.astype("<f4" if dtype == FLOAT else "<i8").tobytes()))


def value_info(name: str, shape) -> bytes:
    """A float ValueInfoProto; a str in ``shape`` is a dynamic dimension."""
    dims = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, FLOAT) + _bytes(2, dims)))


def attr(name: str, value) -> bytes:
    """An AttributeProto: int (i 3, type INT 2) or list of ints (ints 8, type INTS 7)."""
    if isinstance(value, (list, tuple)):
        return _bytes(1, name) + b"".join(_int(8, v) for v in value) + _int(20, 7)
    return _bytes(1, name) + _int(3, value) + _int(20, 2)


def node(op: str, inputs, outputs, **attrs) -> bytes:
    return (b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
            + _bytes(3, outputs[0]) + _bytes(4, op)
            + b"".join(_bytes(5, attr(k, v)) for k, v in attrs.items()))


def onnx_model(nodes, initializers, inputs, outputs, opset: int = 13) -> bytes:
    """A ModelProto (ir_version 1, graph 7, opset_import 8) holding one graph."""
    graph = (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, "test")
             + b"".join(_bytes(5, t) for t in initializers)
             + b"".join(_bytes(11, v) for v in inputs) + b"".join(_bytes(12, v) for v in outputs))
    return _int(1, 7) + _bytes(2, "imgstudio-tests") + _bytes(7, graph) + _bytes(8, _int(2, opset))


def constant_onnx(path, outputs: dict, input_shape=(1, 3, 64, 64)):
    """An ONNX model whose outputs are fixed arrays (each plus 0 × the input's mean, so the
    graph uses its input): ``outputs`` maps output names to arrays."""
    nodes = [node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
             node("Mul", ["mean", "zero"], ["nothing"])]
    inits = [tensor("zero", np.zeros(1))]
    outs = []
    for i, (name, array) in enumerate(outputs.items()):
        inits.append(tensor(f"const{i}", array))
        nodes.append(node("Add", [f"const{i}", "nothing"], [name]))
        outs.append(value_info(name, list(np.shape(array))))
    path.write_bytes(onnx_model(nodes, inits, [value_info("images", list(input_shape))], outs))
    return path


def tiny_yolo_onnx(path, size: int = 48):
    """A YOLOv8-layout model for round trips: one box, 8 × 8 input pixels centred on the
    centre of the brightest red pixel of its input (the first one in row-major order), classes
    scored (0.9, 0.1): the box follows the image."""
    nodes = [
        node("Gather", ["images", "zero_i"], ["red"], axis=1),        # (1, H, W)
        node("Reshape", ["red", "flat_shape"], ["flat"]),             # (1, H·W)
        node("ArgMax", ["flat"], ["index"], axis=1, keepdims=1),      # (1, 1)
        node("Mod", ["index", "width"], ["col"]),
        node("Div", ["index", "width"], ["row"]),
        node("Concat", ["col", "row"], ["cell"], axis=0),             # (2, 1)
        node("Cast", ["cell"], ["cell_f"], to=FLOAT),
        node("Add", ["cell_f", "half"], ["centre"]),                  # pixel i spans [i, i+1]
        node("Concat", ["centre", "rest"], ["column"], axis=0),       # (6, 1)
        node("Reshape", ["column", "out_shape"], ["output0"]),        # (1, 6, 1)
    ]
    inits = [tensor("zero_i", np.array(0), INT64), tensor("flat_shape", [1, -1], INT64),
             tensor("width", [[size]], INT64), tensor("half", [[0.5]]),
             tensor("rest", [[8], [8], [0.9], [0.1]]), tensor("out_shape", [1, 6, 1], INT64)]
    path.write_bytes(onnx_model(nodes, inits, [value_info("images", [1, 3, size, size])],
                                [value_info("output0", [1, 6, 1])]))
    return path
