"""Which accelerator a model runs on: the `device` setting of every stage and command that runs one.

`auto` (the default) takes CUDA when torch sees a GPU and the CPU otherwise; an explicit `cuda` on a
machine without one is a one-line error, not a slow silent CPU run. On CUDA, matrix products run in
bf16 under autocast where the GPU supports it (weights, softmax and losses stay float32), and so do they on a
CPU that multiplies bf16 natively (AVX512-BF16 or AMX: 1.5x faster steps and scoring on 2 cores, bpb within 0.1%,
docs/benchmarks.md); other CPUs compute in float32, where bf16 would be emulated and slower.
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path

import torch

from tokshift.core.errors import TokshiftError

DEVICES = "auto, cpu, cuda or cuda:N"


class DeviceError(TokshiftError, RuntimeError):
    """A device setting names an accelerator this machine does not have (or is not a device at all)."""


def resolve_device(name: str = "auto", field: str = "device") -> torch.device:
    """`auto` -> cuda if available else cpu; `cpu`, `cuda`, `cuda:N` checked against this machine."""
    name = str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"{field}: '{name}' is not a device; use {DEVICES}") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise DeviceError(f"{field}: '{name}' is not supported; use {DEVICES}")
    if not torch.cuda.is_available():
        raise DeviceError(f"{field}: '{name}' asked for, but torch sees no CUDA GPU here (torch "
                          f"{torch.__version__}); set {field}: auto or cpu, or install a CUDA build of torch")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"{field}: '{name}' asked for, but this machine has {torch.cuda.device_count()} GPU(s)")
    return device


def is_device_name(name: str) -> bool:
    """Whether a setting can name a device at all (config time; availability is checked when it is used)."""
    name = str(name).strip().lower()
    return name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit())


@functools.cache
def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bf16 in hardware (x86 flags avx512_bf16 or amx_bf16; Linux only)."""
    try:
        flags = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags)) and torch.backends.mkldnn.is_available()


def uses_bf16(device: torch.device, bf16: bool = True) -> bool:
    """Whether autocast runs in bf16 on `device` when asked for: CUDA with bf16 support, or a bf16-native CPU."""
    if not bf16:
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def mixed_precision(device: torch.device, bf16: bool = True) -> str:
    """accelerate's `mixed_precision` for `device`: "bf16" where `uses_bf16` says so, else "no"."""
    return "bf16" if uses_bf16(device, bf16) else "no"


def autocast(device: torch.device, bf16: bool = True):
    """bf16 autocast where `uses_bf16` says so; a no-op context elsewhere (float32)."""
    if uses_bf16(device, bf16):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
