"""Heuristic embedding initialisations for a new tokenizer, no training involved.

- fvt.py: FVT, the mean base embedding of each token's spelling (also the hypernetwork's start).
- focus.py: FOCUS, a sparsemax mix of similar overlapping tokens (fastText on the target text).
- baselines.py: mean (base statistics) and random (the base's own initialisation).
"""
