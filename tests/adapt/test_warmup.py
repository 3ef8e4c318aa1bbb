"""The warm-up's distillation: zero when student and teacher read the same tokens with the same embeddings,
positive for a transfer's embeddings, and falling when the input embeddings train on it."""

from __future__ import annotations

import torch

from tokshift.adapt.warmup import DistillBatches, distill_loss
from tokshift.data.corpus import split_texts
from tokshift.model.base import load_model
from tokshift.model.score import bos_id
from tokshift.transfers.folder import apply_transfer


def batches(corpus_file, student, teacher, batch_size=4):
    texts = split_texts(corpus_file, "train", "ja", "languages")[:16]
    return DistillBatches(texts, student.backend_tokenizer, teacher.backend_tokenizer,
                          (bos_id(student), bos_id(teacher)), 24, batch_size, seed=0)


def test_the_base_on_its_own_tokens_matches_itself_exactly(tiny_models, corpus_file):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    batch = batches(corpus_file, tok, tok).make(0)
    # the teacher reads up to the student's last whole character: the same tokens, perhaps fewer
    t_ids, t_mask = batch.teacher_ids, batch.teacher_mask
    assert torch.equal(batch.ids[:, :t_ids.shape[1]] * t_mask, t_ids * t_mask)
    assert torch.equal(batch.align.student, batch.align.teacher) and len(batch.align.student) > 10
    assert distill_loss(model, model.get_input_embeddings().weight, batch, layers=1).item() == 0.0


def test_a_transfer_is_pulled_towards_the_base_states(tiny_models, ja_transfers, corpus_file):
    model, base_tok = load_model(str(tiny_models["llama-tied"]))
    teacher_input = model.get_input_embeddings().weight.detach().clone()
    target = apply_transfer(model, ja_transfers / "random")
    made = batches(corpus_file, target, base_tok)
    batch = made.make(0)
    assert len(batch.align.student) > 0 and not torch.equal(batch.ids[:, :3], batch.teacher_ids[:, :3])
    embed = model.get_input_embeddings().weight
    model.requires_grad_(False)
    embed.requires_grad_(True)
    opt = torch.optim.Adam([embed], lr=0.05)
    losses = []
    for _ in range(15):
        loss = distill_loss(model, teacher_input, batch, layers=1)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[0] > 0.05 and losses[-1] < 0.5 * losses[0], losses


def test_a_process_takes_every_world_th_document_of_the_step(tiny_models, corpus_file):
    _, tok = load_model(str(tiny_models["llama-tied"]))
    made = batches(corpus_file, tok, tok)
    whole = made.make(3)
    halves = [made.make(3, rank, 2) for rank in (0, 1)]
    assert [len(h.ids) for h in halves] == [2, 2]
    def rows(batch):
        return {tuple(r[:m.sum()].tolist()) for r, m in zip(batch.ids, batch.mask, strict=True)}

    assert rows(halves[0]) | rows(halves[1]) == rows(whole) and whole.ids.shape[1] <= 24
