"""Structures before the next byte: a whitespace run is settled only by what follows it."""

from tests.bytelevel.tiny import tiny_tokenizer
from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.structures import Structure, structures


def test_after_a_letter_there_is_one_structure():
    bpe = ByteBPE(tiny_tokenizer(use_regex=True))
    assert structures(bpe, b"the ca", 3) == [Structure(3, (), b" ca", "all")]


def test_after_spaces_the_last_space_may_join_the_next_pretoken():
    bpe = ByteBPE(tiny_tokenizer(use_regex=True))
    space, other = structures(bpe, b"the  ", 3)
    assert space == Structure(3, (), b"  ", "space")  # "the  " + " ": one run of spaces
    assert other == Structure(3, bpe.encode(b" "), b" ", "other")  # "the  c" is "the", " ", " c"
    tok = tiny_tokenizer(use_regex=True)
    assert tok.encode("the  c").ids == [*bpe.encode(b"the"), *other.lead, *bpe.encode(b" c")]


def test_after_newlines_the_last_newline_stands_alone():
    bpe = ByteBPE(tiny_tokenizer(use_regex=True))
    _, other = structures(bpe, b"the\n\n", 3)
    assert other == Structure(3, bpe.encode(b"\n") + bpe.encode(b"\n"), b"", "other")
    tok = tiny_tokenizer(use_regex=True)
    assert tok.encode("the\n\nc").ids == [*bpe.encode(b"the"), *other.lead, *bpe.encode(b"c")]
    assert tok.encode("the  ").ids == [*bpe.encode(b"the"), *bpe.encode(b"  ")]  # a run at the end stays whole


def test_without_the_regex_whitespace_is_an_ordinary_byte():
    bpe = ByteBPE(tiny_tokenizer(use_regex=False))
    assert structures(bpe, b"the  ", 0) == [Structure(0, (), b"the  ", "all")]
