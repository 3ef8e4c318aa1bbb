"""Tokenizers: training them, and relating their tokens to the base tokenizer's.

- training.py: BPE/Unigram tokenizers trained on the corpus, saved for AutoTokenizer, loaded safely.
- spelling.py: a token spelled in base pieces, as a byte-level string, or as its bytes.
- pieces.py: those spellings padded into tensors (the hypernetwork's input).
- specials.py: a tokenizer's special tokens and the base token each target special maps to.
"""
