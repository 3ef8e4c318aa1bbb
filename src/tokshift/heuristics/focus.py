"""FOCUS: overlapping tokens copied, the rest a sparsemax mix of similar overlapping ones.

Similarity comes from a token-level fastText model trained on the target languages' train text
(the `deepfocus` package's fasttext-tokenlevel mode), so no pretrained vectors are downloaded.
Leaves out: the LM-head bias, which follows FVT (transfers/methods.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from tokshift.core.errors import InputError


def focus_matrix(target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase, base_mat: torch.Tensor,
                 texts: list[str], seed: int) -> torch.Tensor:
    """FOCUS embeddings [V_target, d] from base_mat [V_base, d] and target-language `texts`."""
    import deepfocus

    if not texts:
        raise InputError("focus needs training text in the target languages (the corpus train split)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(ln for t in texts for ln in t.splitlines() if ln.strip()) + "\n", encoding="utf-8")
        return deepfocus.FOCUS(target_tokenizer=target, source_tokenizer=base, source_embeddings=base_mat,
                               auxiliary_embedding_mode="fasttext-tokenlevel", target_training_data_path=str(path),
                               # One fastText thread: multi-threaded SGD differs from run to run.
                               seed=seed, processes=1, verbosity="silent").float()
