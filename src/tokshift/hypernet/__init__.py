"""Zero-Shot Tokenizer Transfer: a hypernetwork that embeds any tokenizer's vocabulary for a frozen base model.

- model.py: the hypernetwork (projection -> Transformer encoder -> heads, FVT residual) and batched inference.
- sampler.py: tokenizers sampled on the fly from a cache of recent training text.
- stream.py: training text as a pure function of (step, rank), replayed on resume.
- batch.py: one step's batch (sampled tokenizer, ids, pieces, alignment), optionally built in the background.
- objective.py: LM loss through the frozen base model with predicted embeddings, and the lexical loss.
- compose.py: the compositional warm-up (base tokens re-spelled by undoing BPE merges, a held-out share).
- align.py, distill.py: model-aware objectives (aligned hidden states, next-segment probabilities).
- config.py: the training configuration.
- schedule.py: warmup + cosine per phase (the warm-up, then the objective).
- loop.py: the training loop (accelerate/DDP, weight average, checkpoints and exact resume, curves).
- folder.py: a trained hypernetwork on disk (save, load, base-model fingerprint).
- predict.py: a trained hypernetwork applied to a target tokenizer (the `hypernet` transfer method).
- train.py: train on a corpus and save (the `hypernet` stage and `tokshift.train_hypernet`).
"""
