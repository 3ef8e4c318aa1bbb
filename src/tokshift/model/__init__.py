"""The base model: loading it, its embedding matrices, and scoring text with it.

- base.py: a model from a hub id, a folder, a GGUF file or the embedded package, checked and saved.
- embeddings.py: embedding matrices by role (input, untied output, head bias); swapping new ones in.
- score.py: bits per byte of a causal LM on texts (windowed, batched).
"""
