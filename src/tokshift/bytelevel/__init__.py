"""Exact byte-level probabilities of a causal LM with a byte-level BPE tokenizer.

bpe.py (token bytes, BPE on raw bytes, canonical pairs), context.py (KV cache and packed covering rows),
covers.py (the cover sums inside one pretoken), score.py (documents: whole and byte by byte), generate.py
(prompts that end anywhere), ensemble.py (models with different tokenizers combined byte by byte).
"""
