"""A hypernetwork folder round-trips and refuses another base model."""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import hyper_for
from tokshift.hypernet.folder import CheckpointMismatchError, base_fingerprint, load_hypernet, save_hypernet
from tokshift.model.base import load_model
from tokshift.tokenization.pieces import pad_pieces


def test_hypernetwork_folder_roundtrip_and_wrong_base(tiny_models, tmp_path):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    hyper = hyper_for(model, langs=["de", "ja"])
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    save_hypernet(hyper, tmp_path, base_fingerprint(model))
    loaded = load_hypernet(tmp_path, model)
    pieces = pad_pieces([[3, 4], [5]], 7)
    torch.testing.assert_close(loaded(pieces.ids, pieces.lengths, "de")["input"],
                               hyper(pieces.ids, pieces.lengths, "de")["input"])
    other, _ = load_model(str(tiny_models["llama-tied"]))
    with pytest.raises(CheckpointMismatchError, match="another base model"):
        load_hypernet(tmp_path, other)
    meta = json.loads((tmp_path / "hypernet.json").read_text())
    meta["config"]["hidden"] = 32
    (tmp_path / "hypernet.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointMismatchError, match="do not fit"):
        load_hypernet(tmp_path, model)
