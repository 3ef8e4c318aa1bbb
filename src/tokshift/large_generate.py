"""Generation over a large vocabulary: longest-prefix-match prompts, ANN output layer.

A prompt is split into the base tokenizer's pretokens (special tokens stay whole) and each pretoken
is cut greedily into the longest tokens of the large vocabulary (every byte is a base token, so
this always succeeds). At each generation step the last hidden state queries the FAISS index for
the top-k rows of the output matrix; those k are scored exactly and one is chosen (greedy or
sampled); its input embedding (the model's row, or the hypernetwork's for an extra token) is fed back.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import PreTrainedModel

from tokshift.dynamic import base_encode, specials, token_bytes, token_string, units


@dataclass
class LargeVocab:
    base: Tokenizer
    extra: list[tuple[int, ...]]
    """Extra tokens after the base vocabulary, as runs of base ids."""
    extra_input: torch.Tensor
    """[len(extra), d] input embeddings of the extra tokens."""

    def __post_init__(self) -> None:
        self.base_size = self.base.get_vocab_size(with_added_tokens=True)
        self.lookup = dict(self.base.get_vocab(with_added_tokens=True))  # byte-level string -> id
        for i, tok in enumerate(self.extra):
            self.lookup.setdefault(token_string(tok, self.base), self.base_size + i)
        self.max_chars = max(len(s) for s in self.lookup)
        self.special = specials(self.base)

    @classmethod
    def load(cls, base: Tokenizer, tokens: list, shards: list[Path]) -> LargeVocab:
        rows = [load_file(str(p))["input"] for p in shards]
        extra_input = torch.cat(rows) if rows else torch.empty(0)
        return cls(base, [tuple(t) for t in tokens], extra_input)

    def __len__(self) -> int:
        return self.base_size + len(self.extra)

    def encode(self, text: str) -> list[int]:
        """Large-vocabulary ids of `text`: longest match inside each base pretoken."""
        enc = base_encode([text], self.base)[0]
        out = []
        for unit in units(text, enc.ids, enc.word_ids, enc.offsets, self.special, "pretoken"):
            piece = token_string(tuple(unit), self.base)
            pos = 0
            while pos < len(piece):
                for end in range(min(len(piece), pos + self.max_chars), pos, -1):
                    tid = self.lookup.get(piece[pos:end])
                    if tid is not None:
                        out.append(tid)
                        pos = end
                        break
                else:  # not reachable with a byte-level base; kept as a clear failure
                    raise ValueError(f"no vocabulary entry spells {piece[pos:pos + 10]!r}")
        return out

    def token_bytes(self, tid: int) -> bytes:
        return token_bytes((tid,) if tid < self.base_size else self.extra[tid - self.base_size], self.base)

    def input_rows(self, model: PreTrainedModel, ids: list[int]) -> torch.Tensor:
        table = model.get_input_embeddings().weight
        rows = [table[i] if i < self.base_size else self.extra_input[i - self.base_size].to(table)
                for i in ids]
        return torch.stack(rows)


@dataclass
class Generation:
    text: str
    ids: list[int]
    ann_seconds: float
    """Time spent in the output layer (index search + exact rescoring of the candidates)."""
    steps: int


@torch.no_grad()
def generate(model: PreTrainedModel, vocab: LargeVocab, index, output: torch.Tensor, prompt: str,
             start_id: int, max_new_tokens: int = 32, k: int = 20, temperature: float = 0.0,
             seed: int = 0, stop_ids: set[int] | None = None) -> Generation:
    """Continue `prompt` over the large vocabulary; temperature 0 is greedy among the k candidates."""
    if not any(c.isprintable() and not c.isspace() for c in prompt):
        raise ValueError("the prompt is empty or only whitespace/control characters; give it some text")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    gen = torch.Generator().manual_seed(seed)
    ids = [start_id, *vocab.encode(prompt)]
    embeds = vocab.input_rows(model, ids)[None]
    backbone = model.base_model
    # Newer transformers name the KV cache `cache`, older ones `past_key_values`.
    cache_arg = "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"
    out = backbone(inputs_embeds=embeds, use_cache=True)
    past, new, ann = getattr(out, cache_arg), [], 0.0
    bias = getattr(model.get_output_embeddings(), "bias", None)
    if bias is not None:  # extra tokens get no bias
        bias = torch.cat([bias.float().cpu(), torch.zeros(len(output) - len(bias))])
    for _ in range(max_new_tokens):
        start = time.perf_counter()
        cand, scores = index.candidates(out.last_hidden_state[0, -1], output, k, bias)
        if temperature > 0:
            pick = int(torch.multinomial(torch.softmax(scores / temperature, 0), 1, generator=gen))
        else:
            pick = int(torch.argmax(scores))
        ann += time.perf_counter() - start
        tid = int(cand[pick])
        new.append(tid)
        if stop_ids and tid in stop_ids:
            break
        out = backbone(inputs_embeds=vocab.input_rows(model, [tid])[None], use_cache=True, **{cache_arg: past})
        past = getattr(out, cache_arg)
    text = b"".join(vocab.token_bytes(t) for t in new).decode("utf-8", errors="replace")
    return Generation(text=text, ids=new, ann_seconds=ann, steps=len(new))


def open_large_vocab(folder: str | Path, model: PreTrainedModel, base: Tokenizer, cfg=None):
    """(LargeVocab, output matrix, index) of a `vocab_index` folder, checked against `model`."""
    import json

    from tokshift.vocab_index import IndexConfig, IndexMismatchError, load_index, output_matrix

    folder = Path(folder)
    meta_file = folder / "vocab.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{folder}: not a vocabulary index folder (no vocab.json); run `dvc repro vocab_index`")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("base_vocab_size") != base.get_vocab_size(with_added_tokens=True):
        raise IndexMismatchError(f"{folder}: built for a base vocabulary of {meta.get('base_vocab_size')} tokens, "
                                 f"this model's has {base.get_vocab_size(with_added_tokens=True)}")
    tokens = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    shards = sorted((folder / "emb").glob("emb-*.safetensors"))
    vocab = LargeVocab.load(base, tokens, shards)
    matrix = output_matrix(model, shards)
    index = load_index(folder, matrix, cfg or IndexConfig(**meta.get("index", {})))
    return vocab, matrix, index


@torch.no_grad()
def hidden_states(model: PreTrainedModel, vocab: LargeVocab, texts: list[str], start_id: int,
                  window: int = 512) -> tuple[list[torch.Tensor], list[list[int]]]:
    """Per text, the final hidden states [T, d] over [start, large-vocabulary ids] and those ids (first window)."""
    states, all_ids = [], []
    for text in texts:
        ids = [start_id, *vocab.encode(text)][:window]
        out = model.base_model(inputs_embeds=vocab.input_rows(model, ids)[None])
        states.append(out.last_hidden_state[0].float())
        all_ids.append(ids)
    return states, all_ids


def query_states(model: PreTrainedModel, vocab: LargeVocab, texts: list[str], start_id: int) -> torch.Tensor:
    """[n, d] hidden states that predict a next token (every position but each text's last), as in generation."""
    states, _ = hidden_states(model, vocab, texts, start_id, window=2048)
    return torch.cat([s[:-1] for s in states])


def split_query_states(model: PreTrainedModel, vocab: LargeVocab, corpus: str | Path, split: str, langs: list[str],
                       max_bytes: int, start_id: int, field: str) -> torch.Tensor:
    """query_states on each language's first documents of a corpus split (cut to 1,000 bytes, max_bytes each)."""
    from tokshift.corpus import split_texts
    from tokshift.evaluate import head_texts

    texts = [t for lang in langs for t in head_texts(split_texts(corpus, split, lang, field), max_bytes)]
    return query_states(model, vocab, texts, start_id)


def sample_queries(pool: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """A seeded random sample of `n` rows of `pool` (all of them, shuffled, when there are fewer)."""
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]]


def large_vocab_bits(states: list[torch.Tensor], ids: list[list[int]], matrix: torch.Tensor) -> float:
    """Bits of the next large-vocabulary token at every position, with the exact softmax over all rows."""
    import math

    import torch.nn.functional as F

    total = 0.0
    for h, row in zip(states, ids, strict=True):
        logits = h[:-1] @ matrix.float().T
        total += F.cross_entropy(logits, torch.tensor(row[1:]), reduction="sum").item()
    return total / math.log(2)
