"""Tokenizer transfer by any method: new input/output embeddings for a target tokenizer, as a transfer folder.

`transfer(model_dir, tokenizer_dir, method, out_dir)` computes the matrices and writes the folder
(folder.py); `export` turns it into a stock Hugging Face model folder. Methods:
- fvt, focus, mean, random: the heuristics (tokshift.heuristics);
- hypernet: a trained Zero-Shot Tokenizer Transfer hypernetwork (tokshift.hypernet) predicts them;
- wechsel: nearest source tokens in aligned fastText spaces (tokshift.heuristics.spaces, trained on the corpus
  and aligned with FreeDict dictionaries); tokens the base has are copied, tokens without a word vector take FVT.
Special tokens always take the base model's embedding of the same token or role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.device import DEVICES, is_device_name, resolve_device
from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, read_corpus
from tokshift.heuristics.baselines import baseline_matrix
from tokshift.heuristics.focus import focus_matrix
from tokshift.heuristics.fvt import apply_plan, fvt_plan
from tokshift.heuristics.spaces import WechselConfig, load_space
from tokshift.heuristics.wechsel import mix, neighbours, token_vectors
from tokshift.hypernet.folder import base_fingerprint, load_hypernet
from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import special_map
from tokshift.tokenization.spelling import check_spellable, unknown_id
from tokshift.tokenization.training import load_tokenizer, tokenizer_langs
from tokshift.transfers.folder import write_transfer

METHODS = ("fvt", "focus", "mean", "random", "hypernet", "wechsel")


@dataclass
class TransferConfig:
    tokenizers: list[str] = field(
        default_factory=lambda: ["de-bpe-16k", "ru-bpe-16k", "ja-unigram-16k", "code-bpe-16k", "multi-bpe-32k",
                                 "de-compound-16k"])
    """Target tokenizers (names under storage/tokenizers) to transfer to."""
    methods: list[str] = field(default_factory=lambda: ["fvt", "random"])
    """Heuristic methods (fvt, focus, mean, random); each (tokenizer, method) is one DVC stage (hypernet and wechsel
    have their own). The default keeps FVT (the reference every method is compared with) and random (the control of
    the byte-level ensembles); FOCUS and mean trail FVT on every language and are options."""
    seed: int = 0
    """Seed of the random parts (mean, random, FOCUS's fastText)."""
    focus_max_bytes: int = 1_500_000
    """Train text (UTF-8 bytes, all of the tokenizer's languages) for FOCUS's fastText model."""
    device: str = "auto"
    """Where the hypernetwork predicts (method hypernet): auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or
    cuda:N. The heuristics need no model forward and run on the CPU."""

    def __post_init__(self) -> None:
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")
        for i, method in enumerate(self.methods):
            # hypernet and wechsel depend on a trained hypernetwork / word spaces, so they are their own stages.
            check(method in METHODS[:4], f"methods[{i}]", f"must be one of {list(METHODS[:4])} (hypernet and wechsel "
                  f"have their own stages), got '{method}'")


@dataclass
class EncoderTransferConfig(TransferConfig):
    """Transfers of the encoder (params.yaml: encoder_transfer) to SentencePiece-style target tokenizers."""

    tokenizers: list[str] = field(default_factory=lambda: ["de-sp-16k", "ru-sp-16k", "ja-sp-16k", "ko-sp-16k"])
    methods: list[str] = field(default_factory=lambda: ["fvt"])
    focus_max_bytes: int = 1_000_000


def focus_texts(corpus: str | Path, tokenizer_dir: str | Path, max_bytes: int = 3_000_000) -> list[str]:
    """Train-split text of the tokenizer's languages, capped: what FOCUS trains its fastText model on."""
    texts = [t for lang in tokenizer_langs(tokenizer_dir)
             for t in read_corpus(corpus, split="train", lang=lang).column("text").to_pylist()]
    return capped_texts(texts, max_bytes)


def transfer(model_dir: str | Path, tokenizer_dir: str | Path, method: str, out_dir: str | Path,
             seed: int = 0, train_texts: list[str] | None = None,
             hypernet_dir: str | Path | None = None, device: str = "auto", word_vectors: str | Path | None = None,
             wechsel: WechselConfig | None = None) -> dict[str, float]:
    """Write a transfer folder (tokenizer + embeddings.safetensors + transfer.json) atomically; returns metrics.

    `train_texts` (target-language text) is needed by focus only, `hypernet_dir` by hypernet only, `word_vectors`
    (the folder build_spaces wrote) and `wechsel` (its settings) by wechsel only; `device` (TransferConfig.device)
    is where the hypernetwork runs.
    """
    check(method in METHODS, "method", f"must be one of {list(METHODS)}, got '{method}'")
    target = load_tokenizer(tokenizer_dir)  # first: a corrupt tokenizer.json is named before anything loads
    where = resolve_device(device, "transfer.device") if method == "hypernet" else "cpu"
    model, base_hf = load_model(str(model_dir), device=where)
    target_hf, base = AutoTokenizer.from_pretrained(tokenizer_dir), base_hf.backend_tokenizer
    check_spellable(target, base, str(tokenizer_dir))
    specials = special_map(target_hf, base_hf)
    plan, exact = fvt_plan(target, base)
    mats, extra = {}, {}
    if method == "hypernet":
        mats, extra = hypernet_transfer(model, hypernet_dir, target_hf, base_hf, tokenizer_langs(tokenizer_dir))
    if method == "wechsel":
        mix_rows, extra = wechsel_rows(word_vectors, wechsel or WechselConfig(), target_hf, base_hf,
                                       tokenizer_langs(tokenizer_dir), set(exact) | set(specials), str(tokenizer_dir))
    for name, base_mat in ({} if method == "hypernet" else embedding_matrices(model)).items():
        if method == "wechsel" and name != "bias":
            mat = apply_plan(plan, base_mat)  # exact copies, and FVT for tokens without a word vector
            mat[mix_rows[0]] = mix(mix_rows[1], mix_rows[2], base_mat)
        elif method == "focus" and name != "bias":
            mat = focus_matrix(target_hf, base_hf, base_mat, train_texts or [], seed)
            # deepfocus decodes byte-level tokens to text, so partial-UTF-8 byte tokens collide on U+FFFD:
            # restore the exact copies FOCUS intends for every token the base vocabulary has.
            for tid, bid in exact.items():
                mat[tid] = base_mat[bid]
        elif method in ("fvt", "focus", "wechsel"):
            mat = apply_plan(plan, base_mat)
        else:
            mat = baseline_matrix(method, name, base_mat, len(plan), model, seed)
        for tid, bid in specials.items():
            mat[tid] = base_mat[bid]
        mats[name] = mat.contiguous().float()
    meta = {"base_model": str(model_dir), "method": method, "target_tokenizer": str(tokenizer_dir),
            "languages": tokenizer_langs(tokenizer_dir), "seed": seed, "base": base_fingerprint(model), **extra,
            "special_tokens": {target_hf.convert_ids_to_tokens(t): b for t, b in specials.items()}}
    write_transfer(out_dir, target_hf, mats, meta)
    vocab = target.get_vocab_size(with_added_tokens=True)
    unknown = {}
    if (unk := unknown_id(base)) is not None:  # tokens of characters the base cannot spell, embedded as <unk>
        unknown = {"unknown_spellings": sum(1 for tid, p in enumerate(plan) if p == [unk] and tid not in specials)}
    return {"vocab_size": vocab, "exact_copies": len(exact), "exact_share": round(len(exact) / vocab, 4),
            **unknown, **extra.get("pieces", {}), **extra.get("wechsel", {})}


def wechsel_rows(folder: str | Path | None, cfg: WechselConfig, target_hf: PreTrainedTokenizerBase,
                 base_hf: PreTrainedTokenizerBase, langs: list[str], keep: set[int],
                 name: str) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], dict]:
    """(target ids, their k source ids, weights) for every token not in `keep` that has a word vector."""
    if folder is None:
        raise InputError("method 'wechsel' needs the aligned word vectors (--word-vectors, e.g. storage/word_vectors)")
    if not langs:
        raise InputError(f"{name}: wechsel needs the target tokenizer's language, and this folder records none "
                         f"(tokshift records it when it trains a tokenizer)")
    if len(langs) > 1:
        raise InputError(f"{name}: wechsel maps one target language onto '{cfg.source}', this tokenizer covers "
                         f"{langs}; use fvt, focus or hypernet for a multilingual target")
    source_model, target_model, alignment = load_space(folder, cfg.source, langs[0])
    source_vecs, source_ids = token_vectors(base_hf, source_model)
    target_vecs, target_ids = token_vectors(target_hf, target_model)
    rows = [i for i, tid in enumerate(target_ids) if tid not in keep]
    nearest, weights = neighbours(torch.from_numpy(alignment.target(target_vecs[rows])).float(),
                                  torch.from_numpy(alignment.source(source_vecs)).float(), cfg.neighbours,
                                  cfg.temperature)
    ids = torch.tensor([target_ids[i] for i in rows], dtype=torch.long)
    stats = {"wechsel_mixed": len(rows), "wechsel_fvt_fallback": len(target_hf) - len(keep | set(target_ids)),
             "wechsel_source_tokens": len(source_ids)}
    return (ids, torch.tensor(source_ids, dtype=torch.long)[nearest], weights), {"wechsel": stats,
                                                                               "word_vectors": str(folder)}


def hypernet_transfer(model: PreTrainedModel, hypernet_dir: str | Path | None, target_hf: PreTrainedTokenizerBase,
                      base_hf: PreTrainedTokenizerBase, langs: list[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Matrices predicted by the hypernetwork in `hypernet_dir` (language-conditioned for one-language tokenizers)."""
    if hypernet_dir is None:
        raise InputError("method 'hypernet' needs a trained hypernetwork folder (--hypernet, e.g. storage/hypernet)")
    hyper = load_hypernet(hypernet_dir, model)
    mats, info = tokenizer_matrices(hyper, target_hf, base_hf, lang=langs[0] if len(langs) == 1 else None)
    return {k: v.detach().cpu().contiguous().float() for k, v in mats.items()}, {"hypernet": str(hypernet_dir),
                                                                                   "pieces": info}

