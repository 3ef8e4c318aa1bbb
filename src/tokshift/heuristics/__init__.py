"""Heuristic embedding initialisations for a new tokenizer: FVT, FOCUS, and the mean/random baselines."""
