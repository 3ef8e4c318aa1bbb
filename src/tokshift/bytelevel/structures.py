"""What the tokens before the next byte can look like, given only the bytes so far.

The pre-tokenizer cuts text into pretokens and no token crosses a cut, so the bytes after the last settled cut
(the open pretoken) are where covers differ (covers.py). One cut is not settled by the past: GPT-2's regex
(`\\s+(?!\\S)`) keeps a run of whitespace whole when whitespace or the end follows, but gives its last character
to what follows otherwise ("a  b" is "a", " ", " b"; "a\\n\\nb" is "a", "\\n", "\\n", "b"). So after whitespace
there are two structures, one per class of the next byte, and the next-byte distribution takes whitespace bytes
(and the end of text) from the first, all other bytes from the second. Whitespace here is ASCII whitespace;
other Unicode spaces count as ordinary characters (an approximation). Leaves out: other regexes' look-aheads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokshift.bytelevel.bpe import ByteBPE

SPACE = b" \t\n\r\x0b\x0c"
IS_SPACE = np.zeros(256, dtype=bool)
IS_SPACE[list(SPACE)] = True


@dataclass(frozen=True)
class Structure:
    start: int
    """Byte offset where the structure's tokens begin; before it the text is in canonical tokens."""
    lead: tuple[int, ...]
    """Tokens of whole pretokens between `start` and the open pretoken."""
    word: bytes
    """The open pretoken's bytes so far."""
    role: str
    """Which next bytes it predicts: all, space (whitespace bytes and the end of text) or other (the rest)."""


def space_run_start(data: bytes, end: int) -> int:
    """Start of the run of whitespace bytes that ends at `end` (exclusive)."""
    start = end
    while start > 0 and IS_SPACE[data[start - 1]]:
        start -= 1
    return start


def structures(bpe: ByteBPE, data: bytes, open_start: int) -> list[Structure]:
    """Structures before byte len(data); `open_start`: where the open pretoken starts (the pre-tokenizer's
    last cut in `data`)."""
    n = len(data)
    if not bpe.splits_whitespace or n == 0 or not IS_SPACE[data[-1]]:
        return [Structure(open_start, (), data[open_start:], "all")]
    run = space_run_start(data, n)
    kept = bpe.encode(data[run:n - 1]) if n - 1 > run else ()
    if data[-1] == ord(" "):  # the space joins the next pretoken (" b")
        other = Structure(run, kept, b" ", "other")
    else:  # a newline or tab stands alone
        other = Structure(run, kept + bpe.encode(data[-1:]), b"", "other")
    return [Structure(run, (), data[run:], "space"), other]
