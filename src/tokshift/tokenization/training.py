"""Train target tokenizers (BPE or Unigram, byte-level or not) with `tokenizers`, save them for transformers.

A trained tokenizer is written as a Hugging Face tokenizer folder (`tokenizer.json` +
`tokenizer_config.json` + `special_tokens_map.json`) that `AutoTokenizer.from_pretrained` loads
offline. Byte-level models use the GPT-2 byte alphabet, like the byte-level base models they are
meant for, so every input is encodable without `<unk>`. Leaves out: WordPiece.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from tokshift.core.atomic import atomic_dir
from tokshift.core.errors import MissingFileError, TokshiftError
from tokshift.core.params import check
from tokshift.data.corpus import EmptyCorpusError, read_corpus
from tokshift.data.languages import check_language

log = logging.getLogger(__name__)

MODELS = ("bpe", "unigram")
# Conventions of a base model family that a target tokenizer must share (convention field); smollm2 = the defaults.
XLM_R = {"byte_level": False, "special_tokens": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "bos_token": "<s>",
         "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "add_bos_eos": True}
# Gemma's ids 0-3 and turn markers; byte-level (Gemma's own byte fallback needs <0x..> pieces), <bos> first.
GEMMA = {"byte_level": True, "special_tokens": ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>",
                                               "<end_of_turn>"],
         "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>", "add_bos": True}
CONVENTIONS = {"smollm2": {}, "xlm-r": XLM_R, "gemma": GEMMA}
TOKENIZER_META = "tokshift_tokenizer.json"


class TokenizerFileError(TokshiftError, ValueError):
    """A tokenizer.json cannot be parsed; the message names the file and how to rebuild it."""


@dataclass
class TokenizerConfig:
    model: str
    """`bpe` or `unigram`."""
    vocab_size: int
    """Target vocabulary size, special tokens and the byte alphabet included."""
    langs: list[str]
    """Languages whose train split the tokenizer learns from (several = a shared tokenizer)."""
    byte_level: bool = True
    """GPT-2-style byte-level pre-tokenizer and decoder (match the base model: SmolLM2 is byte-level)."""
    special_tokens: list[str] = field(default_factory=lambda: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    """Added first, in this order, so they get ids 0..n-1 (default: those of the SmolLM2 base model)."""
    bos_token: str | None = "<|endoftext|>"
    """Beginning-of-sequence token (must be in special_tokens), or null."""
    eos_token: str | None = "<|endoftext|>"
    """End-of-sequence token (must be in special_tokens), or null."""
    unk_token: str | None = None
    """Unknown token; needed only when byte_level is false."""
    pad_token: str | None = None
    """Padding token (must be in special_tokens), or null (encoders batch padded texts: set it)."""
    add_bos_eos: bool = False
    """Wrap every encoded text as bos + text + eos, as XLM-R-style encoders expect (<s> ... </s>)."""
    add_bos: bool = False
    """Start every encoded text with bos_token, as Llama and Gemma tokenizers do (a Gemma model needs it)."""
    min_frequency: int = 2
    """BPE: a pair must occur this often to be merged."""
    max_train_bytes: int = 20_000_000
    """Read at most this many UTF-8 bytes of training text (split evenly across langs)."""
    convention: str = "smollm2"
    """The base model family the tokenizer is for: smollm2 (the fields above as set) or xlm-r (SentencePiece-style:
    Metaspace, not byte-level, <s> <pad> </s> <unk> <mask>, texts wrapped as <s> ... </s>; sets byte_level, the
    special tokens and add_bos_eos, for multilingual-e5 and other XLM-R-vocabulary encoders) or gemma (byte-level with
    Gemma's <pad> <eos> <bos> <unk> <start_of_turn> <end_of_turn> and a <bos> before every text, for Gemma models)."""

    def __post_init__(self) -> None:
        check(self.convention in CONVENTIONS, "convention", f"must be one of {list(CONVENTIONS)}, "
                                                            f"got '{self.convention}'")
        for name, value in CONVENTIONS[self.convention].items():
            setattr(self, name, list(value) if isinstance(value, list) else value)
        check(self.model in MODELS, "model", f"must be one of {MODELS}, got '{self.model}'")
        check(self.vocab_size > 0, "vocab_size", f"must be > 0, got {self.vocab_size}")
        floor = len(self.special_tokens) + (256 if self.byte_level else 1)
        check(self.vocab_size >= floor, "vocab_size", f"must be >= {floor} (alphabet + special tokens), "
                                                      f"got {self.vocab_size}")
        check(bool(self.langs), "langs", "must name at least one language")
        for i, lang in enumerate(self.langs):
            check_language(lang, f"langs[{i}]")
        for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
            token = getattr(self, name)
            check(token is None or token in self.special_tokens, name, f"'{token}' must be in special_tokens")
        check(self.byte_level or self.unk_token is not None, "unk_token", "is required when byte_level is false")
        check(not self.add_bos_eos or (self.bos_token is not None and self.eos_token is not None), "add_bos_eos",
              "needs bos_token and eos_token")
        check(not self.add_bos or self.bos_token is not None, "add_bos", "needs bos_token")
        check(not (self.add_bos and self.add_bos_eos), "add_bos", "and add_bos_eos exclude each other")
        check(self.min_frequency >= 1, "min_frequency", f"must be >= 1, got {self.min_frequency}")
        check(self.max_train_bytes > 0, "max_train_bytes", f"must be > 0, got {self.max_train_bytes}")


def new_tokenizer(cfg: TokenizerConfig) -> tuple[Tokenizer, trainers.Trainer]:
    """An untrained `Tokenizer` and its trainer for `cfg`."""
    if cfg.byte_level:
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        pre, dec = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), decoders.ByteLevel()
    else:
        alphabet = []
        pre, dec = pre_tokenizers.Metaspace(), decoders.Metaspace()
    if cfg.model == "bpe":
        tok = Tokenizer(models.BPE(unk_token=cfg.unk_token))
        trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
                                      special_tokens=cfg.special_tokens, initial_alphabet=alphabet,
                                      show_progress=False)
    else:
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=cfg.vocab_size, special_tokens=cfg.special_tokens,
                                          initial_alphabet=alphabet, unk_token=cfg.unk_token,
                                          show_progress=False)
    if not cfg.byte_level:
        tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre
    tok.decoder = dec
    return tok, trainer


def bos_eos_template(tok: Tokenizer, cfg: TokenizerConfig) -> processors.TemplateProcessing:
    """Post-processor wrapping texts as `<bos> A <eos>` (pairs `<bos> A <eos> <eos> B <eos>`, as XLM-R)."""
    bos, eos = cfg.bos_token, cfg.eos_token
    return processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
                                         special_tokens=[(bos, tok.token_to_id(bos)), (eos, tok.token_to_id(eos))])


def training_texts(corpus: Path, cfg: TokenizerConfig) -> Iterator[str]:
    """Train-split documents of `cfg.langs`, at most max_train_bytes / len(langs) bytes per language."""
    per_lang = cfg.max_train_bytes // len(cfg.langs)
    for lang in cfg.langs:
        texts = read_corpus(corpus, split="train", lang=lang).column("text").to_pylist()
        if not texts:
            raise EmptyCorpusError(f"{corpus}: no train documents for language '{lang}'; add a source for it in "
                             f"params.yaml: corpus.sources or drop it from the tokenizer's langs")
        used = 0
        for text in texts:
            if used >= per_lang:
                break
            used += len(text.encode("utf-8"))
            yield text


def train_tokenizer(corpus: Path, cfg: TokenizerConfig, out_dir: Path, texts: list[str] | None = None,
                    boundary: str | None = None) -> dict[str, float]:
    """Train on the corpus (or on `texts`, already read from it) and save a transformers tokenizer folder atomically;
    returns metrics. With `boundary`, training also splits words at that character (dropped), so no token spans
    it; the saved tokenizer has the stock pre-tokenizer."""
    tok, trainer = new_tokenizer(cfg)
    texts = list(training_texts(corpus, cfg)) if texts is None else texts
    stock = tok.pre_tokenizer
    if boundary is not None:
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(boundary, "removed"), stock])
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    tok.pre_tokenizer = stock
    if cfg.add_bos_eos:
        tok.post_processor = bos_eos_template(tok, cfg)
    if cfg.add_bos:
        bos = (cfg.bos_token, tok.token_to_id(cfg.bos_token))
        tok.post_processor = processors.TemplateProcessing(single=f"{bos[0]} $A", pair=f"{bos[0]} $A $B",
                                                           special_tokens=[bos])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=cfg.bos_token, eos_token=cfg.eos_token,
                                   unk_token=cfg.unk_token, pad_token=cfg.pad_token, model_max_length=1_000_000_000)
    with atomic_dir(out_dir) as tmp:
        fast.save_pretrained(tmp)
        # What later stages need to know (which languages this tokenizer is for) travels with it.
        meta = {"model": cfg.model, "vocab_size": cfg.vocab_size, "langs": cfg.langs, "byte_level": cfg.byte_level}
        (tmp / TOKENIZER_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {"vocab_size": tok.get_vocab_size(), "train_docs": len(texts),
            "train_mb": round(sum(len(t.encode("utf-8")) for t in texts) / 1e6
                              - (sum(t.count(boundary) for t in texts) * len(boundary.encode("utf-8")) / 1e6
                                 if boundary else 0), 3)}


def tokenizer_langs(directory: str | Path) -> list[str]:
    """Languages a tokshift-trained tokenizer was made for ([] for any other tokenizer folder)."""
    meta = Path(directory) / TOKENIZER_META
    return json.loads(meta.read_text(encoding="utf-8"))["langs"] if meta.exists() else []


def load_tokenizer(directory: str | Path) -> Tokenizer:
    """The `tokenizers.Tokenizer` of a tokenizer folder; a clear error if it is missing or corrupt."""
    path = Path(directory) / "tokenizer.json"
    if not path.exists():
        raise MissingFileError(f"{path}: not found; train it first (`dvc repro`) or point to a folder "
                                f"that holds a tokenizer.json")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as err:  # the Rust side raises a bare Exception on bad JSON
        raise TokenizerFileError(f"{path}: corrupt tokenizer file ({str(err)[:200]}); delete the folder and rerun "
                         f"`dvc repro` to train it again") from None
