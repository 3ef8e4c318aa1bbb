"""Dynamic tokenization: merge frequent subword sequences per batch and embed them on the fly.

- merge.py: batch-level BPE merges of base tokens within a boundary (pretoken, word, word_hyphen).
- embed.py: their embeddings (base rows, hypernetwork + LRU cache) and the model run on them.
- evaluate.py: the prefix length / continuation bits trade-off per merge budget.
"""
