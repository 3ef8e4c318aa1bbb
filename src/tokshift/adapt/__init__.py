"""n-shot adaptation: continue training a transferred model on its own tokenizer.

- config.py: the settings (params.yaml: adapt).
- data.py: train text as equal token chunks, and the batch of a step as a function of the step.
- trainable.py: what trains (embeddings, LoRA adapters, every weight) and the optimizer groups.
- warmup.py: aligned early-layer distillation as a warm-up (hypernet/align.py and distill.py reused).
- masked.py: masking and the pseudo-likelihood score for encoders.
- train.py: the run (accelerate/DDP, weight average, checkpoints and exact resume, curve) and its result
  as a transfer folder.
"""
