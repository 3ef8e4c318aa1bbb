"""Data mixture inference: what a BPE tokenizer's merge list reveals about its training data.

`merges.py` reads a merge list and splits sample text into words; `counts.py` replays the merges on each
category's words, recording pair counts incrementally; `solve.py` finds the category weights that best
explain the merge order (an LP with slack, constraints added lazily); `infer.py` runs it on every
tokenizer of the pipeline with the encoding-efficiency baseline; `validate.py` trains tokenizers on known
random mixtures and infers them back. Method: Hayase et al. (2024), "Data Mixture Inference".
"""
