"""Safetensors files are read with one-line errors that name a missing, truncated or foreign file."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from tokshift.core.errors import CorruptFileError, MissingFileError
from tokshift.core.tensors import load_tensors


def test_round_trip_and_bad_files(tmp_path):
    path = tmp_path / "a.safetensors"
    save_file({"x": torch.arange(6.0)}, str(path))
    assert torch.equal(load_tensors(path, "redo it")["x"], torch.arange(6.0))
    with path.open("r+b") as f:
        f.truncate(40)
    with pytest.raises(CorruptFileError, match=r"a\.safetensors: not a readable safetensors file .*; redo it"):
        load_tensors(path, "redo it")
    with pytest.raises(MissingFileError, match=r"b\.safetensors: not found; redo it"):
        load_tensors(tmp_path / "b.safetensors", "redo it")
