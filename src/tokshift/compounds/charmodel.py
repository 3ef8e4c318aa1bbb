"""A character-level decompounder: a small tagger marks, before every character, whether a new part starts there.

Trained on the hyphen-restoration pairs (compounds and non-compounds, CompoundPiece's stage 1) with a
per-position binary loss; the epoch with the best valid accuracy is kept. Saved as safetensors plus a JSON
config (characters, sizes): nothing pickled. Leaves out: the paper's byte-level T5 and its Wiktionary stage 2.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from tokshift.core.params import check

UNK = "\0"


@dataclass
class CharModelConfig:
    kind: str = "lstm"
    """`cnn` (dilated convolutions) or `lstm` (bidirectional, hidden/2 per direction)."""
    embed: int = 32
    """Character embedding size."""
    hidden: int = 128
    """Channels of each convolution, or both LSTM directions together."""
    layers: int = 2
    """cnn: convolutions of width 5 dilated 1, 2, 4, ... (each position sees +-(2^(layers+1) - 2) characters);
    lstm: stacked layers."""
    epochs: int = 16
    """Passes over the training pairs (the best valid epoch is kept)."""
    batch_size: int = 64
    """Words per step."""
    lr: float = 0.003
    """Adam learning rate."""
    threshold: float = 0.5
    """A boundary is cut where its probability exceeds this."""
    min_part: int = 2
    """Cuts leaving a part shorter than this are dropped (least probable first)."""
    seed: int = 0
    """Seed of initialisation and batch order."""

    def __post_init__(self) -> None:
        check(self.kind in ("cnn", "lstm"), "kind", f"must be cnn or lstm, got '{self.kind}'")
        for name in ("embed", "hidden", "layers", "epochs", "batch_size", "min_part"):
            check(getattr(self, name) >= 1, name, f"must be >= 1, got {getattr(self, name)}")
        check(0 < self.threshold < 1, "threshold", f"must be in (0, 1), got {self.threshold}")


class Tagger(nn.Module):
    """Characters -> per-position logits, through dilated 1-d convolutions (each position sees `cfg.layers` doublings
    of context, in parallel) or a bidirectional LSTM (`cfg.kind`)."""

    def __init__(self, n_chars: int, cfg: CharModelConfig):
        super().__init__()
        self.embed = nn.Embedding(n_chars, cfg.embed, padding_idx=0)
        if cfg.kind == "lstm":
            self.lstm = nn.LSTM(cfg.embed, cfg.hidden // 2, cfg.layers, batch_first=True, bidirectional=True)
        else:
            convs, width = [], cfg.embed
            for layer in range(cfg.layers):
                dilation = 2 ** layer
                convs += [nn.Conv1d(width, cfg.hidden, 5, padding=2 * dilation, dilation=dilation), nn.ReLU()]
                width = cfg.hidden
            self.convs = nn.Sequential(*convs)
        self.out = nn.Linear(cfg.hidden, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(batch, length) character ids -> (batch, length) logits that a part starts at each position."""
        x = self.embed(ids)
        h = self.lstm(x)[0] if hasattr(self, "lstm") else self.convs(x.transpose(1, 2)).transpose(1, 2)
        return self.out(h).squeeze(-1)


@dataclass
class CharDecompounder:
    model: Tagger
    chars: dict[str, int]
    cfg: CharModelConfig

    def encode(self, words: list[str]) -> torch.Tensor:
        ids = torch.zeros(len(words), max(map(len, words), default=1), dtype=torch.long)
        for r, word in enumerate(words):
            ids[r, :len(word)] = torch.tensor([self.chars.get(c, 1) for c in word], dtype=torch.long)
        return ids

    @torch.no_grad()
    def probabilities(self, words: list[str], batch_size: int = 512) -> list[list[float]]:
        """Per word, the probability that a part starts at each character (index 0 is never a start)."""
        self.model.eval()
        order = sorted(range(len(words)), key=lambda i: len(words[i]))  # similar lengths pad little
        out: list[list[float]] = [[] for _ in words]
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            probs = torch.sigmoid(self.model(self.encode([words[i] for i in idx]))).tolist()
            for i, p in zip(idx, probs, strict=False):
                out[i] = p[:len(words[i])]
        return out

    def cuts(self, word: str, probs: list[float]) -> tuple[int, ...]:
        """Cut offsets above the threshold, most probable first, none leaving a part under min_part."""
        chosen: list[int] = []
        for _, i in sorted(((p, i) for i, p in enumerate(probs) if i > 0 and p > self.cfg.threshold), reverse=True):
            edges = sorted([0, *chosen, i, len(word)])
            if all(b - a >= self.cfg.min_part for a, b in zip(edges, edges[1:], strict=False)):
                chosen.append(i)
        return tuple(sorted(chosen))

    def split_all(self, words: list[str]) -> list[tuple[int, ...]]:
        return [self.cuts(w, p) for w, p in zip(words, self.probabilities(words), strict=False)]

    def save(self, directory: Path) -> None:
        weights = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        save_file(weights, str(directory / "charmodel.safetensors"))
        meta = {"chars": "".join(sorted(self.chars, key=self.chars.get)), "config": asdict(self.cfg)}
        text = json.dumps(meta, ensure_ascii=False, indent=1) + "\n"
        (directory / "charmodel.json").write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> CharDecompounder:
        meta = json.loads((directory / "charmodel.json").read_text(encoding="utf-8"))
        chars = {c: i for i, c in enumerate(meta["chars"])}
        cfg = CharModelConfig(**meta["config"])
        model = Tagger(len(chars), cfg)
        model.load_state_dict(load_file(str(directory / "charmodel.safetensors")))
        return cls(model, chars, cfg)


def labels(words: list[str], cuts: list[tuple[int, ...]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Boundary targets (1 where a part starts) and the mask of positions that can start one (1..len-1)."""
    width = max(map(len, words))
    y, mask = torch.zeros(len(words), width), torch.zeros(len(words), width)
    for r, (word, cut) in enumerate(zip(words, cuts, strict=False)):
        mask[r, 1:len(word)] = 1
        y[r, list(cut)] = 1
    return y, mask


def train_char_model(words: list[str], cuts: list[tuple[int, ...]], valid: tuple[list[str], list[tuple[int, ...]]],
                     cfg: CharModelConfig, score) -> tuple[CharDecompounder, list[dict]]:
    """Train on (words, cuts); keep the epoch whose `score(predicted, gold)` on `valid` is best; returns the curve."""
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    # 0 pads, 1 is any character the training words never show
    chars = {"\x01": 0, UNK: 1, **{c: i + 2 for i, c in enumerate(sorted({c for w in words for c in w}))}}
    dec = CharDecompounder(Tagger(len(chars), cfg), chars, cfg)
    opt = torch.optim.Adam(dec.model.parameters(), lr=cfg.lr)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    best, best_state, curve = -1.0, None, []
    order = list(range(len(words)))
    for epoch in tqdm(range(1, cfg.epochs + 1), desc="decompounder", unit="epoch"):
        dec.model.train()
        rng.shuffle(order)
        total = 0.0
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            batch = [words[i] for i in idx]
            y, mask = labels(batch, [cuts[i] for i in idx])
            loss = (loss_fn(dec.model(dec.encode(batch)), y) * mask).sum() / mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        acc = score(dec.split_all(valid[0]), valid[1])
        curve.append({"epoch": epoch, "train_loss": round(total / len(order), 5), "valid_accuracy": round(acc, 5)})
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in dec.model.state_dict().items()}
    dec.model.load_state_dict(best_state)
    return dec, curve
