"""Zero-Shot Tokenizer Transfer: a hypernetwork that embeds any tokenizer's vocabulary for a frozen base model.

- pieces.py: each token's surface string decomposed by the base tokenizer (the hypernetwork's input).
- model.py: the hypernetwork (projection -> Transformer encoder -> heads, FVT residual) and batched inference.
- sampler.py: tokenizers sampled on the fly from a cache of recent training text.
- objective.py: LM loss through the frozen base model with predicted embeddings, lexical and identity losses.
- loop.py: the training loop (accelerate/DDP, checkpoints and exact resume, curves).
- predict.py: a trained hypernetwork applied to a target tokenizer (the `hypernet` transfer method).
"""
