"""The large-vocabulary folder (stage `vocab_index`): build it from a corpus and a hypernetwork, open it.

Layout: `tokens.json` (extra tokens after the base vocabulary, each a run of base ids), `emb/`
(hypernetwork embeddings of the extra tokens in shards of `shard_size` tokens), `index.faiss` +
`index.json` (+ `whiten.safetensors`) over the output embeddings, and `vocab.json` (base vocabulary
size, total size, hypernetwork, index config). Ids 0..V-1 are the base vocabulary (the model's own
rows); ids V.. are the extra tokens. Shards are computed under a work folder keyed by the vocabulary
and the hypernetwork, each written atomically and skipped when it exists, so a killed build resumes
at the next shard and memory stays bounded by one shard; the finished folder is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.atomic import atomic_dir, atomic_file
from tokshift.core.device import DEVICES, is_device_name
from tokshift.core.errors import MissingFileError
from tokshift.core.params import check
from tokshift.core.tensors import load_tensors
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.hypernet.model import Hypernetwork
from tokshift.large_vocab.index import IndexConfig, IndexMismatchError, VocabIndex, build_index, load_index
from tokshift.large_vocab.states import split_query_states
from tokshift.large_vocab.vocabulary import LargeVocab, extend_vocabulary, pretoken_counts
from tokshift.model.score import bos_id
from tokshift.tokenization.pieces import spell
from tokshift.tokenization.spelling import token_string


@dataclass
class VocabIndexConfig:
    size: int = 100_000
    """Tokens of the large vocabulary, base included (preset: 1,000,000 on a GPU machine with a larger corpus)."""
    langs: list[str] = field(default_factory=lambda: ["en", "de", "fr", "es", "ru", "el", "ja", "zh", "ko", "code"])
    """Corpus languages (train split) the vocabulary is extended on."""
    max_bytes_per_lang: int = 500_000
    """Train-split bytes per language read for the extension (documents in id order)."""
    min_count: int = 2
    """A pair must occur this often in those bytes to become a token."""
    shard_size: int = 65_536
    """Extra tokens per embedding shard (one shard is the memory bound and the resume unit)."""
    index: IndexConfig = field(default_factory=IndexConfig)
    """The FAISS index over the output embeddings."""
    k: int = 20
    """Candidates from the index per generated token; recall@k is measured for it."""
    queries: int = 300
    """Real hidden states (test text) used for recall and latency."""
    fit_max_bytes: int = 1500
    """Train bytes per language (of `langs`) whose hidden states fit the index's whitening (index.whiten)."""
    eval_langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "code", "en", "zh"])
    """Test-split languages for tokens per byte and bits per byte, base vs large vocabulary."""
    eval_max_bytes: int = 3000
    """Test bytes per language for those figures (documents cut to 1,000 bytes)."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU; the index goes to the GPU when
    faiss-gpu is installed and index.use_gpu), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""

    def __post_init__(self) -> None:
        check(self.size > 0, "size", f"must be > 0, got {self.size}")
        check(bool(self.langs), "langs", "must name at least one language")
        for name in ("max_bytes_per_lang", "min_count", "shard_size", "k", "queries", "eval_max_bytes",
                     "fit_max_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def embed_extra_tokens(hyper: Hypernetwork, tokens: list[tuple[int, ...]], base: Tokenizer, out_dir: Path,
                       shard_size: int = 65536) -> list[Path]:
    """Hypernetwork embeddings of `tokens` into shards under out_dir; existing shards are kept (resume)."""
    check(shard_size > 0, "shard_size", f"must be > 0, got {shard_size}")
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = []
    n_shards = (len(tokens) + shard_size - 1) // shard_size
    for s in tqdm(range(n_shards), desc="embed vocabulary", unit="shard", disable=None):
        path = out_dir / f"emb-{s:05d}.safetensors"
        shards.append(path)
        if path.exists():
            continue
        chunk = tokens[s * shard_size:(s + 1) * shard_size]
        pred = hyper.embed(spell([token_string(tok, base) for tok in chunk], base, hyper.cfg.max_pieces))
        with atomic_file(path) as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in pred.items()}, str(tmp))
    return shards


def output_matrix(model, shards: list[Path]) -> torch.Tensor:
    """[V + extra, d] output embeddings: the model's head rows, then the shards' (output, else tied input)."""
    head = model.get_output_embeddings().weight.detach().float().cpu()
    parts = [head]
    for path in shards:
        mats = load_tensors(path, "rebuild it (`dvc repro vocab_index`)")
        parts.append(mats.get("output", mats["input"]))
    return torch.cat(parts)



def build_large_vocab(model: PreTrainedModel, tok: PreTrainedTokenizerBase, hyper: Hypernetwork,
                      hypernet_dir: str | Path, corpus: str | Path, out: str | Path, work: str | Path,
                      cfg: VocabIndexConfig) -> tuple[LargeVocab, torch.Tensor, VocabIndex, dict]:
    """Extend the vocabulary on the train split, embed the extra tokens, write the folder; (vocab, matrix, index,
    facts)."""
    base, facts = tok.backend_tokenizer, {}
    start = time.time()
    texts = [t for lang in cfg.langs for t in
             capped_texts(split_texts(corpus, "train", lang, "vocab_index.langs"), cfg.max_bytes_per_lang)]
    extra = extend_vocabulary(pretoken_counts(texts, base), base, cfg.size, hyper.cfg.max_pieces, cfg.min_count)
    facts["extend_seconds"] = round(time.time() - start, 1)

    key = hashlib.sha256(json.dumps([extra, str(Path(hypernet_dir).resolve()), cfg.shard_size]).encode())
    key.update((Path(hypernet_dir) / "hypernet.safetensors").read_bytes())
    start = time.time()
    with torch.no_grad():
        shards = embed_extra_tokens(hyper, extra, base, Path(work) / key.hexdigest()[:16], cfg.shard_size)
    facts["embed_seconds"] = round(time.time() - start, 1)

    vocab = LargeVocab.load(base, extra, shards)
    # example queries for the index's whitening: hidden states on train text
    fit = split_query_states(model, vocab, corpus, "train", cfg.langs, cfg.fit_max_bytes, bos_id(tok),
                             "vocab_index.langs")
    with atomic_dir(out) as tmp:
        (tmp / "emb").mkdir()
        for shard in shards:
            shutil.copy(shard, tmp / "emb" / shard.name)
        (tmp / "tokens.json").write_text(json.dumps([list(t) for t in extra]) + "\n", encoding="utf-8")
        matrix = output_matrix(model, sorted((tmp / "emb").glob("emb-*.safetensors")))
        gpu = model.device.type == "cuda"
        index_facts = build_index(matrix, cfg.index, tmp, states=fit, gpu=gpu)
        meta = {"base_vocab_size": base.get_vocab_size(with_added_tokens=True), "size": len(matrix),
                "hypernet": str(hypernet_dir), "index": asdict(cfg.index)}
        (tmp / "vocab.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    facts.update({"vocabulary": len(matrix), "extra_tokens": len(extra),
                  "index": {k: index_facts[k] for k in ("kind", "build_seconds", "index_bytes")},
                  "fit_states": len(fit),
                  "embeddings_bytes": sum(s.stat().st_size for s in shards)
                  + (len(matrix) - len(extra)) * matrix.shape[1] * 4})
    return vocab, matrix, load_index(Path(out), matrix, cfg.index, gpu), facts


def open_large_vocab(folder: str | Path, model: PreTrainedModel, base: Tokenizer,
                     cfg: IndexConfig | None = None) -> tuple[LargeVocab, torch.Tensor, VocabIndex]:
    """(LargeVocab, output matrix, index) of a `vocab_index` folder, checked against `model`."""
    folder = Path(folder)
    meta_file = folder / "vocab.json"
    if not meta_file.is_file():
        raise MissingFileError(f"{folder}: not a vocabulary index folder (no vocab.json); run `dvc repro vocab_index`")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("base_vocab_size") != base.get_vocab_size(with_added_tokens=True):
        raise IndexMismatchError(f"{folder}: built for a base vocabulary of {meta.get('base_vocab_size')} tokens, "
                                 f"this model's has {base.get_vocab_size(with_added_tokens=True)}")
    tokens = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    shards = sorted((folder / "emb").glob("emb-*.safetensors"))
    vocab = LargeVocab.load(base, tokens, shards)
    matrix = output_matrix(model, shards)
    index = load_index(folder, matrix, cfg or IndexConfig(**meta.get("index", {})), model.device.type == "cuda")
    return vocab, matrix, index
