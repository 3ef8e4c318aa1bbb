"""Evaluation of transfers: bits per byte and tokens of the original model and of every transfer folder."""
