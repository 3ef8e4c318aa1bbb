"""Where two tokenizations of one text agree: the character offsets at which both have a token boundary.

A causal model's state after the last token that ends at such an offset has read exactly the same
text under either tokenization, so the base model on its own tokens is a teacher for the sampled
tokenizer's state there (aligned distillation), and the text between two consecutive aligned
offsets is a segment whose probability both can give (next-segment likelihood).
Example: "Hallo Welt" as [Hal|lo|ĠWelt] and [Hallo|ĠWe|lt] agree at offsets 5 and 10.
A byte-level token that covers part of a character shares that character's offsets with its
neighbour; only the last such token ends a boundary. Leaves out: padding, models and losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def boundary_ends(offsets: list[tuple[int, int]]) -> dict[int, int]:
    """{character offset: index of the token ending there} for tokens followed by a token that starts there or later.

    Example: [(0, 3), (3, 5), (5, 10)] -> {3: 0, 5: 1, 10: 2}; [(0, 1), (0, 1)] (one character in two bytes) -> {1: 1}.
    """
    out = {}
    for i, (_, end) in enumerate(offsets):
        if i + 1 == len(offsets) or offsets[i + 1][0] >= end:
            out[end] = i
    return out


@dataclass
class Alignment:
    """Aligned positions of a batch: student (sampled tokenizer) and teacher (base tokenizer) sequences.

    Positions count the leading BOS, so token i of a text sits at position i + 1. Boundary j of a row is
    the segment j's end; segment j spans the tokens after boundary j-1 up to boundary j (segment 0 starts
    after BOS).
    """

    student: torch.Tensor
    """[K, 2] (row, position) of the student's last token before each aligned boundary."""
    teacher: torch.Tensor
    """[K, 2] (row, position) of the teacher's last token before the same boundary."""
    student_segment: torch.Tensor
    """[B, T] index into the K boundaries of the segment each student token belongs to; -1 for BOS and padding."""
    teacher_segment: torch.Tensor
    """[B, T_teacher] the same for the teacher's tokens."""


def align_batch(student_ends: list[dict[int, int]], teacher_ends: list[dict[int, int]],
                student_len: int, teacher_len: int) -> Alignment:
    """Aligned boundaries of each row's two tokenizations (`boundary_ends` of the tokens after BOS, same text)."""
    student, teacher = [], []
    s_seg = torch.full((len(student_ends), student_len), -1, dtype=torch.long)
    t_seg = torch.full((len(teacher_ends), teacher_len), -1, dtype=torch.long)
    for row, (s_ends, t_ends) in enumerate(zip(student_ends, teacher_ends, strict=True)):
        s_prev = t_prev = 0  # the BOS position
        for end in sorted(s_ends.keys() & t_ends.keys()):
            k, s_pos, t_pos = len(student), s_ends[end] + 1, t_ends[end] + 1
            student.append((row, s_pos))
            teacher.append((row, t_pos))
            s_seg[row, s_prev + 1:s_pos + 1] = k
            t_seg[row, t_prev + 1:t_pos + 1] = k
            s_prev, t_prev = s_pos, t_pos
    as_tensor = lambda rows: torch.tensor(rows, dtype=torch.long).reshape(-1, 2)  # noqa: E731
    return Alignment(as_tensor(student), as_tensor(teacher), s_seg, t_seg)
