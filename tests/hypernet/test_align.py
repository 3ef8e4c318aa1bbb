"""Aligned boundaries of two tokenizations: positions that have read the same text."""

from __future__ import annotations

import torch

from tests.helpers import TEXTS, sampled
from tokshift.hypernet.align import align_batch, boundary_ends


def test_boundary_ends_skip_tokens_inside_a_character():
    assert boundary_ends([(0, 3), (3, 5), (5, 10)]) == {3: 0, 5: 1, 10: 2}
    assert boundary_ends([(0, 1), (0, 1), (1, 2)]) == {1: 1, 2: 2}, "two bytes of one character: the second ends it"


def test_aligned_positions_have_read_the_same_text(frozen_llama):
    """Up to every aligned position, and within every segment, both tokenizations spell the same text."""
    _, base_hf = frozen_llama
    student_tok, teacher_tok = sampled(base_hf).tokenizer, base_hf.backend_tokenizer
    s_encs = student_tok.encode_batch(TEXTS, add_special_tokens=False)
    t_encs = teacher_tok.encode_batch(TEXTS, add_special_tokens=False)
    width = lambda encs: 1 + max(len(e.ids) for e in encs)  # noqa: E731
    align = align_batch([boundary_ends(e.offsets) for e in s_encs], [boundary_ends(e.offsets) for e in t_encs],
                        width(s_encs), width(t_encs))
    assert len(align.student) >= len(TEXTS), "at least every text's end is aligned"
    assert any(s != t for (_, s), (_, t) in zip(align.student.tolist(), align.teacher.tolist(), strict=True)), \
        "the two tokenizations differ"
    for (row, s), (_, t) in zip(align.student.tolist(), align.teacher.tolist(), strict=True):
        assert student_tok.decode(s_encs[row].ids[:s]) == teacher_tok.decode(t_encs[row].ids[:t])
    for k, (row, _) in enumerate(align.student.tolist()):
        s_ids = [s_encs[row].ids[p - 1] for p in torch.nonzero(align.student_segment[row] == k).flatten().tolist()]
        t_ids = [t_encs[row].ids[p - 1] for p in torch.nonzero(align.teacher_segment[row] == k).flatten().tolist()]
        assert s_ids and t_ids and student_tok.decode(s_ids) == teacher_tok.decode(t_ids)
