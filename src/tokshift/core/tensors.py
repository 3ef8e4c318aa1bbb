"""Reading safetensors files so that a truncated or foreign file is one line naming it, not a traceback.

Leaves out: writing them (callers use atomic.py's temp-then-rename, so a partial file never appears).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from tokshift.core.errors import CorruptFileError, MissingFileError


def load_tensors(path: str | Path, remedy: str, device: str = "cpu") -> dict[str, torch.Tensor]:
    """All tensors of `path`; `remedy` (e.g. "rerun `dvc repro transfer`") ends the error message."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: not found; {remedy}")
    try:
        return load_file(str(path), device=device)
    except SafetensorError as err:
        raise CorruptFileError(f"{path}: not a readable safetensors file ({err}); {remedy}") from None
