"""Heuristic tokenizer transfer: new input/output embeddings for a target tokenizer (FVT, mean, random).

`transfer(model_dir, tokenizer_dir, method, out_dir)` writes a compact transfer folder: the target
tokenizer, `embeddings.safetensors` (`input`, plus `output` for untied models and `bias` for an
LM-head bias) and `transfer.json`; `export` turns it into a stock Hugging Face model folder.
Methods:
- fvt: tokens in the base vocabulary keep their embedding; others get the mean of the embeddings
  of their decomposition by the base tokenizer (byte-level tokens are decomposed as bytes).
- focus: FOCUS (the `deepfocus` package) with its token-level fastText mode, trained on the target
  languages' train text, so it needs no download; an LM-head bias follows FVT.
- mean: N(mean, std) of the base embeddings, per dimension, seeded.
- random: the base model's own initialisation.
- hypernet: a trained Zero-Shot Tokenizer Transfer hypernetwork (tokshift.hypernet) predicts them.
Special tokens always take the base model's embedding of the same token or role.
Leaves out: WECHSEL (needs pretrained word vectors from a hub).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.atomic import atomic_dir
from tokshift.base_model import load_model
from tokshift.params import check
from tokshift.tokenizer_training import load_tokenizer, tokenizer_langs

log = logging.getLogger(__name__)

METHODS = ("fvt", "focus", "mean", "random", "hypernet")
SPECIAL_ROLES = ("bos_token", "eos_token", "pad_token", "unk_token")


@dataclass
class TransferConfig:
    tokenizers: list[str] = field(default_factory=list)
    """Target tokenizers (names under storage/tokenizers) to transfer to."""
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    """Transfer methods; each (tokenizer, method) is one DVC stage."""
    seed: int = 0
    """Seed of the random parts (mean, random, FOCUS's fastText)."""
    focus_max_bytes: int = 3_000_000
    """Train text (UTF-8 bytes, all of the tokenizer's languages) for FOCUS's fastText model."""

    def __post_init__(self) -> None:
        for i, method in enumerate(self.methods):
            # hypernet depends on the trained hypernetwork, so it is its own stage (transfer_hypernet@<tokenizer>).
            check(method in METHODS[:4], f"methods[{i}]", f"must be one of {list(METHODS[:4])} (hypernet has its own "
                  f"stage), got '{method}'")


class SpecialTokenError(ValueError):
    """A target special token has no counterpart in the base model."""


def embedding_matrices(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """{'input': [V, d]} plus 'output' (untied models) and 'bias' (LM heads with a bias)."""
    mats = {"input": model.get_input_embeddings().weight.detach()}
    head = model.get_output_embeddings()
    if head is not None and head.weight.data_ptr() != mats["input"].data_ptr():
        mats["output"] = head.weight.detach()
    bias = getattr(head, "bias", None) if head is not None else None
    if bias is not None:
        mats["bias"] = bias.detach()
    return mats


def is_byte_level(tok: Tokenizer) -> bool:
    return "ByteLevel" in json.dumps(json.loads(tok.to_str()).get("pre_tokenizer"))


def decompose(token: str, target: Tokenizer, base: Tokenizer, same_bytes: bool) -> list[int]:
    """Base-token ids spelling `token`: e.g. 'Ġschönsten' -> ids of ['Ġsch', 'ön', 'sten'] (same byte alphabet)."""
    if same_bytes:
        # Both byte-level: the token string is already in the base alphabet, even for partial UTF-8.
        return [t.id for t in base.model.tokenize(token)]
    surface = target.decoder.decode([token]) if target.decoder else token
    return base.encode(surface, add_special_tokens=False).ids


def special_map(target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase) -> dict[int, int]:
    """Target special-token id -> base id, by identical string or else by role (bos/eos/pad/unk)."""
    base_vocab = base.get_vocab()
    out = {}
    # Added special tokens (e.g. <|im_start|>) count too, not only the named roles.
    specials = {str(t) for t in target.all_special_tokens}
    specials |= {t.content for t in target.added_tokens_decoder.values() if t.special}
    for token in sorted(specials):
        tid = target.convert_tokens_to_ids(token)
        if token in base_vocab:
            out[tid] = base_vocab[token]
            continue
        roles = [r for r in SPECIAL_ROLES if getattr(target, r, None) == token]
        base_ids = [getattr(base, f"{r}_id") for r in roles if getattr(base, f"{r}_id", None) is not None]
        if not base_ids:
            raise SpecialTokenError(
                f"target special token {token!r} (roles {roles or 'none'}) has no counterpart in the base model; "
                f"use the base model's special tokens in params.yaml: tokenizers.<name>.special_tokens")
        out[tid] = base_ids[0]
    return out


def fvt_plan(target: Tokenizer, base: Tokenizer) -> tuple[list[list[int]], dict[int, int]]:
    """For every target id, the base ids whose embeddings it averages; and target id -> base id of exact copies."""
    same_bytes = is_byte_level(target) and is_byte_level(base)
    base_vocab = base.get_vocab(with_added_tokens=True)
    plan: list[list[int]] = [[] for _ in range(target.get_vocab_size(with_added_tokens=True))]
    exact = {}
    for token, tid in tqdm(target.get_vocab(with_added_tokens=True).items(), desc="fvt", unit="tok", disable=None):
        if token in base_vocab:
            plan[tid] = [base_vocab[token]]
            exact[tid] = base_vocab[token]
        else:
            plan[tid] = decompose(token, target, base, same_bytes)
    return plan, exact


def apply_plan(plan: list[list[int]], base_mat: torch.Tensor, batch: int = 8192) -> torch.Tensor:
    """Row i = mean of base_mat[plan[i]] ([V, d] or, for a bias, [V]); an empty plan gets the overall mean."""
    out = torch.empty((len(plan), *base_mat.shape[1:]), dtype=base_mat.dtype)
    for start in range(0, len(plan), batch):
        rows = plan[start:start + batch]
        counts = torch.tensor([len(r) for r in rows], dtype=base_mat.dtype)
        flat = torch.tensor([i for r in rows for i in r], dtype=torch.long)
        owner = torch.repeat_interleave(torch.arange(len(rows)), counts.long())
        sums = torch.zeros((len(rows), *base_mat.shape[1:]), dtype=base_mat.dtype).index_add_(0, owner, base_mat[flat])
        chunk = sums / counts.clamp(min=1).view(-1, *([1] * (base_mat.dim() - 1)))
        chunk[counts == 0] = base_mat.mean(0)
        out[start:start + len(rows)] = chunk
    return out


def focus_matrix(target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase, base_mat: torch.Tensor,
                 texts: list[str], seed: int) -> torch.Tensor:
    """FOCUS embeddings [V_target, d]: overlapping tokens copied, the rest a sparsemax mix of similar ones."""
    import deepfocus

    if not texts:
        raise ValueError("focus needs training text in the target languages (the corpus train split)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(ln for t in texts for ln in t.splitlines() if ln.strip()) + "\n", encoding="utf-8")
        return deepfocus.FOCUS(target_tokenizer=target, source_tokenizer=base, source_embeddings=base_mat,
                               auxiliary_embedding_mode="fasttext-tokenlevel", target_training_data_path=str(path),
                               # One fastText thread: multi-threaded SGD differs from run to run.
                               seed=seed, processes=1, verbosity="silent").float()


def new_matrix(method: str, name: str, base_mat: torch.Tensor, plan: list[list[int]], model: PreTrainedModel,
               seed: int) -> torch.Tensor:
    """One transferred matrix ('input', 'output' [V, d] or 'bias' [V]) for fvt, mean or random."""
    n = len(plan)
    if method in ("fvt", "focus"):  # focus leaves the bias to FVT
        return apply_plan(plan, base_mat)
    if name == "bias":
        return torch.full((n,), float(base_mat.mean()))
    gen = torch.Generator().manual_seed(seed)
    if method == "mean":
        return base_mat.mean(0) + base_mat.std(0) * torch.randn(n, base_mat.shape[1], generator=gen)
    emb = torch.nn.Embedding(n, base_mat.shape[1])
    torch.manual_seed(seed)
    model._init_weights(emb)  # the base model's own initialisation scheme
    return emb.weight.detach()


def fvt_matrices(model: PreTrainedModel, target_hf: PreTrainedTokenizerBase,
                 base_hf: PreTrainedTokenizerBase) -> dict[str, torch.Tensor]:
    """FVT matrices for `target_hf` on `model`, special tokens copied from the base (float32, CPU)."""
    plan, _ = fvt_plan(target_hf.backend_tokenizer, base_hf.backend_tokenizer)
    specials = special_map(target_hf, base_hf)
    mats = {}
    for name, base_mat in embedding_matrices(model).items():
        mats[name] = apply_plan(plan, base_mat.float().cpu())
        for tid, bid in specials.items():
            mats[name][tid] = base_mat[bid]
    return mats


def transfer(model_dir: str | Path, tokenizer_dir: str | Path, method: str, out_dir: str | Path,
             seed: int = 0, train_texts: list[str] | None = None,
             hypernet_dir: str | Path | None = None) -> dict[str, float]:
    """Write a transfer folder (tokenizer + embeddings.safetensors + transfer.json) atomically; returns metrics.

    `train_texts` (target-language text) is needed by focus only, `hypernet_dir` by hypernet only.
    """
    check(method in METHODS, "method", f"must be one of {list(METHODS)}, got '{method}'")
    model, base_hf = load_model(str(model_dir))
    target_hf = AutoTokenizer.from_pretrained(tokenizer_dir)
    target, base = load_tokenizer(tokenizer_dir), base_hf.backend_tokenizer
    specials = special_map(target_hf, base_hf)
    plan, exact = fvt_plan(target, base)
    mats, extra = {}, {}
    if method == "hypernet":
        mats, extra = hypernet_transfer(model, hypernet_dir, target_hf, base_hf, tokenizer_langs(tokenizer_dir))
    for name, base_mat in ({} if method == "hypernet" else embedding_matrices(model)).items():
        if method == "focus" and name != "bias":
            mat = focus_matrix(target_hf, base_hf, base_mat, train_texts or [], seed)
            # deepfocus decodes byte-level tokens to text, so partial-UTF-8 byte tokens collide on U+FFFD:
            # restore the exact copies FOCUS intends for every token the base vocabulary has.
            for tid, bid in exact.items():
                mat[tid] = base_mat[bid]
        else:
            mat = new_matrix(method, name, base_mat, plan, model, seed)
        for tid, bid in specials.items():
            mat[tid] = base_mat[bid]
        mats[name] = mat.contiguous().float()
    with atomic_dir(out_dir) as tmp:
        target_hf.save_pretrained(tmp)
        save_file(mats, str(tmp / "embeddings.safetensors"))
        meta = {"base_model": str(model_dir), "method": method, "target_tokenizer": str(tokenizer_dir),
                "languages": tokenizer_langs(tokenizer_dir), "seed": seed, **extra,
                "special_tokens": {target_hf.convert_ids_to_tokens(t): b for t, b in specials.items()}}
        (tmp / "transfer.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    vocab = target.get_vocab_size(with_added_tokens=True)
    return {"vocab_size": vocab, "exact_copies": len(exact), "exact_share": round(len(exact) / vocab, 4),
            **extra.get("pieces", {})}


def hypernet_transfer(model: PreTrainedModel, hypernet_dir: str | Path | None, target_hf: PreTrainedTokenizerBase,
                      base_hf: PreTrainedTokenizerBase, langs: list[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Matrices predicted by the hypernetwork in `hypernet_dir` (language-conditioned for one-language tokenizers)."""
    from tokshift.hypernet.predict import load_hypernet, tokenizer_matrices

    if hypernet_dir is None:
        raise ValueError("method 'hypernet' needs a trained hypernetwork folder (--hypernet, e.g. storage/hypernet)")
    hyper = load_hypernet(hypernet_dir, model)
    mats, info = tokenizer_matrices(hyper, target_hf, base_hf, lang=langs[0] if len(langs) == 1 else None)
    return {k: v.contiguous().float() for k, v in mats.items()}, {"hypernet": str(hypernet_dir), "pieces": info}
