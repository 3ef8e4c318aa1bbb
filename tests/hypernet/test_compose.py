"""The compositional warm-up: base tokens re-spelled by undoing merges, a seeded held-out split, its losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, models

from tokshift.core.errors import InputError
from tokshift.hypernet.compose import Composer, MergeTree
from tokshift.model.embeddings import embedding_matrices


def hell_tokenizer() -> Tokenizer:
    vocab = {"h": 0, "e": 1, "l": 2, "he": 3, "ll": 4, "hell": 5}
    return Tokenizer(models.BPE(vocab=vocab, merges=[("h", "e"), ("l", "l"), ("he", "ll")]))


@pytest.mark.parametrize("cutoff,pieces", [(3, [5]), (2, [3, 4]), (1, [3, 2, 2]), (0, [0, 1, 2, 2])])
def test_respell_undoes_every_merge_from_the_cutoff_on(cutoff, pieces):
    assert MergeTree.of(hell_tokenizer()).respell(5, cutoff) == pieces


def test_tokens_no_merge_made_stay_whole():
    tree = MergeTree.of(hell_tokenizer())
    assert tree.respell(2, 0) == [2] and tree.rank.tolist() == [-1, -1, -1, 0, 1, 2]


def test_drawn_spellings_spell_the_token_within_max_pieces(base):
    tree, vocab = MergeTree.of(base), {i: t for t, i in base.get_vocab().items()}
    ids = torch.from_numpy((tree.rank >= 0).nonzero()[0])
    rows = tree.draw(ids, 4, torch.Generator().manual_seed(0))
    assert all("".join(vocab[p] for p in row) == vocab[int(t)] for t, row in zip(ids, rows, strict=True))
    lengths = {len(row) for row in rows}
    assert min(lengths) == 2 and max(lengths) == 4, "from the token's own merge undone down to max_pieces"


def test_an_identity_share_keeps_tokens_whole(base):
    tree = MergeTree.of(base)
    ids = torch.from_numpy((tree.rank >= 0).nonzero()[0])
    assert tree.draw(ids, 8, torch.Generator().manual_seed(0), identity=1.0) == [[int(t)] for t in ids]
    half = tree.draw(ids, 8, torch.Generator().manual_seed(0), identity=0.5)
    assert 0.4 < sum(len(row) == 1 for row in half) / len(ids) < 0.6


def test_the_held_out_split_is_seeded_and_disjoint(base):
    made = set((MergeTree.of(base).rank >= 0).nonzero()[0].tolist())
    a, b, other = Composer(base, 8, 0.2, seed=0), Composer(base, 8, 0.2, seed=0), Composer(base, 8, 0.2, seed=1)
    held, trained = set(a.heldout.tolist()), set(a.train.tolist())
    assert held | trained == made and not held & trained
    assert len(a.heldout) == round(0.2 * len(made))
    assert torch.equal(a.heldout, b.heldout) and not torch.equal(a.heldout, other.heldout)


def test_held_out_loss_starts_at_fvt_the_mean_of_the_pieces(tiny, base):
    model, _, hyper = tiny
    composer = Composer(base, 8, 0.2, seed=0)
    rows = composer.tree.draw(composer.heldout, 8, torch.Generator().manual_seed(0))
    table = embedding_matrices(model)["input"].float()
    fvt = torch.stack([table[row].mean(0) for row in rows])
    std = hyper.std_input
    expected = F.mse_loss(fvt / std, table[composer.heldout] / std).item()
    assert composer.heldout_loss(hyper) == pytest.approx(expected, rel=1e-4)
    assert composer.heldout_loss(hyper) == composer.heldout_loss(hyper), "the same spellings every call"


def test_warm_up_steps_lower_the_loss_of_the_tokens_they_train(tiny, base):
    _, _, hyper = tiny
    state = {k: v.clone() for k, v in hyper.state_dict().items()}
    composer = Composer(base, 8, 0.2, seed=0)
    opt = torch.optim.Adam(hyper.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        loss = composer.step_loss(hyper, hyper, 64, torch.Generator().manual_seed(step % 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    hyper.load_state_dict(state)
    assert losses[-1] < 0.7 * losses[0]


def test_a_base_without_merges_is_refused_by_name(tokenizers_dir):
    unigram = Tokenizer.from_file(str(tokenizers_dir / "ja-unigram-400" / "tokenizer.json"))
    with pytest.raises(InputError, match="compose_steps"):
        MergeTree.of(unigram)
