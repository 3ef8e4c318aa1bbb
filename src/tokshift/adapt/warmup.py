"""Aligned early-layer distillation as the warm-up of an adaptation (as in Model-Aware Tokenizer Transfer).

For the first `distill_steps` steps only the input embeddings train: a batch of train documents is
tokenized by the target tokenizer (the student) and by the base tokenizer (the teacher: the base
model with its own embeddings), and the residual stream after the first L blocks is matched at the
character offsets where both tokenizations have a boundary. The alignment (hypernet/align.py) and
the loss and truncated forward (hypernet/distill.py) are the hypernetwork trainer's, not copies.
Example: "Hallo Welt" as [Hal|lo|ĠWelt] (student) and [Hallo|ĠWe|lt] (teacher) is matched after
"Hallo" and after "Hallo Welt". Leaves out: the next-segment likelihood term, masked LMs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tokenizers import Tokenizer
from transformers import PreTrainedModel

from tokshift.adapt.data import Batches
from tokshift.hypernet.align import Alignment, align_batch, boundary_ends
from tokshift.hypernet.batch import pad_rows
from tokshift.hypernet.distill import forward_states, hidden_loss
from tokshift.model.embeddings import scaled


def plain(tokenizer: Tokenizer) -> Tokenizer:
    """A copy without post-processor: offsets as the pre-tokenizer gives them (a post-processor may trim spans)."""
    out = Tokenizer.from_str(tokenizer.to_str())
    out.post_processor = None
    return out


@dataclass
class DistillBatch:
    ids: torch.Tensor
    """[B, T] student (target-tokenizer) ids, start token first, padded with it."""
    mask: torch.Tensor
    """[B, T] 1 on real tokens."""
    teacher_ids: torch.Tensor
    """[B, T_teacher] base-tokenizer ids of the same text up to the student's last whole token."""
    teacher_mask: torch.Tensor
    """[B, T_teacher] 1 on real tokens."""
    align: Alignment
    """Aligned boundaries of the two tokenizations."""


class DistillBatches:
    """The warm-up batch of a step: documents in the order of a seeded permutation (a function of the step)."""

    def __init__(self, texts: list[str], student: Tokenizer, teacher: Tokenizer, starts: tuple[int, int],
                 seq_len: int, batch_size: int, seed: int):
        self.texts, self.student, self.teacher = texts, plain(student), plain(teacher)
        self.s_start, self.t_start = starts
        self.keep = seq_len - 1  # tokens after the start token
        self.order = Batches(len(texts), batch_size, seed + 1)

    def make(self, step: int, rank: int = 0, world: int = 1) -> DistillBatch:
        """This process's share (every world-th document from rank) of step `step`'s batch."""
        texts = [self.texts[i] for i in self.order.rows(step)[rank::world]]
        encs = self.student.encode_batch(texts, add_special_tokens=False)
        # Boundaries among the kept tokens; the teacher reads the text up to the last of them.
        s_ends = [{end: i for end, i in boundary_ends(e.offsets).items() if i < self.keep} for e in encs]
        cut = [text[:max(ends, default=0)] for text, ends in zip(texts, s_ends, strict=True)]
        t_encs = self.teacher.encode_batch(cut, add_special_tokens=False)
        ids, mask = pad_rows([[self.s_start, *e.ids[:self.keep]] for e in encs], self.s_start)
        t_ids, t_mask = pad_rows([[self.t_start, *e.ids] for e in t_encs], self.t_start)
        align = align_batch(s_ends, [boundary_ends(e.offsets) for e in t_encs], ids.shape[1], t_ids.shape[1])
        return DistillBatch(ids, mask, t_ids, t_mask, align)


def distill_loss(model: PreTrainedModel, teacher_input: torch.Tensor, batch: DistillBatch, layers: int) -> torch.Tensor:
    """hidden_loss after `layers` blocks: `model` on the student ids against `model` with `teacher_input`
    (the base's input embeddings) on the teacher ids; neither runs the blocks above."""
    dev = teacher_input.device
    with torch.no_grad():
        t_states, _ = forward_states(model, {"inputs_embeds": scaled(model, teacher_input[batch.teacher_ids.to(dev)]),
                                             "attention_mask": batch.teacher_mask.to(dev)}, layers, stop=True)
    s_states, _ = forward_states(model, {"input_ids": batch.ids.to(dev), "attention_mask": batch.mask.to(dev)},
                                 layers, stop=True)
    return hidden_loss(s_states, t_states, batch.align)
