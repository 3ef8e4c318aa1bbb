"""Training configs check their fields and name the bad one."""

from __future__ import annotations

import pytest

from tokshift.core.params import ParamsError
from tokshift.hypernet.config import TrainConfig


@pytest.mark.parametrize("field,value", [("ema_decay", 1.0), ("ema_decay", -0.1), ("lr", 0.0), ("compose_steps", 999),
                                         ("compose_holdout", 1.0)])
def test_bad_training_config_names_the_field(field, value):
    from tokshift.core.params import ParamsError
    from tokshift.hypernet.config import TrainConfig

    with pytest.raises(ParamsError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("field,value", [("objective", "lm+kl"), ("objective", "lm+lm"), ("objective", ""),
                                         ("hidden_layers", -1), ("hidden_steps", 999)])
def test_bad_objective_names_the_field(field, value):
    with pytest.raises(ParamsError, match=field):
        TrainConfig(**{field: value})


def test_the_checkpoint_key_changes_with_the_training_code(monkeypatch):
    """A resume after a change to tokshift.hypernet would continue what the old code trained: the key differs."""
    from tokshift.hypernet import config

    cfg = TrainConfig()
    before = cfg.key({"vocab": 10})
    assert cfg.key({"vocab": 10}) == before and cfg.key({"vocab": 11}) != before
    monkeypatch.setattr(config, "code_digest", lambda: "other code")
    assert cfg.key({"vocab": 10}) != before
