"""Encoders adapt with the masked-LM loss: masking is seeded and skips special tokens, the pseudo-likelihood
score is exact on a hand-checkable case, and a tiny BERT transfer adapts, exports and loads."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from tokshift.adapt.config import AdaptConfig
from tokshift.adapt.masked import mask_tokens, pseudo_bits
from tokshift.adapt.train import adapt_transfer
from tokshift.core.errors import InputError
from tokshift.core.params import ParamsError
from tokshift.transfers.export import export
from tokshift.transfers.methods import transfer

SMALL = dict(steps=6, batch_size=2, seq_len=16, lr=0.01, warmup_steps=1, eval_every=3, eval_max_bytes=200,
             checkpoint_every=3, max_train_bytes=20_000)


def test_masking_is_seeded_skips_specials_and_labels_only_the_masked():
    ids = torch.tensor([[0, 5, 6, 7, 8, 9, 10, 0]] * 4)
    a = mask_tokens(ids, 99, [0], torch.Generator().manual_seed(1))
    b = mask_tokens(ids, 99, [0], torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    inputs, labels = a
    picked = inputs == 99
    assert picked.any() and not picked[ids == 0].any()
    assert torch.equal(labels[picked], ids[picked]) and (labels[~picked] == -100).all()
    none = mask_tokens(ids, 99, [0], torch.Generator().manual_seed(1), prob=0.0)[1]
    assert (none != -100).sum() == 1, "at least one label"


def test_pseudo_likelihood_of_a_model_that_ignores_its_input_is_its_fixed_distribution(tiny_models):
    tok = AutoTokenizer.from_pretrained(tiny_models["bert-mlm"])
    tok.add_special_tokens({"mask_token": "[MASK]"})

    class Constant(torch.nn.Module):  # log p(token) = log_softmax(w) whatever the context
        device = torch.device("cpu")

        def __init__(self, n):
            super().__init__()
            self.w = torch.randn(n, generator=torch.Generator().manual_seed(0))

        def forward(self, input_ids):
            return type("Out", (), {"logits": self.w.expand(*input_ids.shape, -1)})

    model = Constant(len(tok))
    text = "Die Tabelle enthält Zahlen."
    ids = tok(text, add_special_tokens=False)["input_ids"]
    expected = -torch.log_softmax(model.w, -1)[ids].sum().item() / math.log(2)
    bits, n_bytes = pseudo_bits(model, tok, [text], window=4, batch=3)  # several windows and chunks
    assert n_bytes == len(text.encode()) and bits == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def bert_transfer(masked_bert, tokenizers_dir, tmp_path_factory):
    """The tiny BERT (with a mask token) moved onto ja-unigram-400 (given the same mask token) with fvt."""
    root = tmp_path_factory.mktemp("bert")
    shutil.copytree(tokenizers_dir / "ja-unigram-400", root / "target")
    target = AutoTokenizer.from_pretrained(root / "target")
    target.add_special_tokens({"mask_token": "[MASK]"})
    target.save_pretrained(root / "target")
    transfer(masked_bert, root / "target", "fvt", root / "fvt")
    return root


def test_an_encoder_adapts_with_the_masked_lm_loss_and_exports(bert_transfer, corpus_file, tmp_path):
    done = adapt_transfer(bert_transfer / "fvt", corpus_file, tmp_path / "out", tmp_path / "ckpt", AdaptConfig(**SMALL))
    assert done.masked and [r["objective"] for r in done.rows] == ["lm"] * 6
    assert done.curve[-1]["bpb"] < done.curve[0]["bpb"], "pseudo-likelihood bits per byte fall"
    export(tmp_path / "out", tmp_path / "model")
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    bits, n_bytes = pseudo_bits(model, tok, done.valid["ja"], window=14)
    # the projector is folded into the matrices on export: the same float32 sums in another order
    assert bits / n_bytes == pytest.approx(done.curve[-1]["ja"], abs=5e-4)


def test_an_encoder_refuses_the_warm_up_and_a_target_without_mask_token(bert_transfer, corpus_file, tmp_path):
    with pytest.raises(ParamsError, match=r"^adapt\.distill_steps must be 0 for a masked LM \(BertForMaskedLM\)"):
        adapt_transfer(bert_transfer / "fvt", corpus_file, tmp_path / "a", tmp_path / "c",
                       AdaptConfig(**{**SMALL, "distill_steps": 2}))
    shutil.copytree(bert_transfer / "fvt", tmp_path / "nomask")
    plain = AutoTokenizer.from_pretrained(bert_transfer / "target")
    plain.mask_token = None
    plain.save_pretrained(tmp_path / "nomask")
    with pytest.raises(InputError, match="nomask: the target tokenizer has no mask token"):
        adapt_transfer(tmp_path / "nomask", corpus_file, tmp_path / "b", tmp_path / "c", AdaptConfig(**SMALL))
