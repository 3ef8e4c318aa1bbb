"""ensemble_eval: the original and a transfer scored byte by byte on the same bytes, then combined."""

import pytest

from tokshift.bytelevel.score import ByteScoreConfig
from tokshift.core.errors import MissingFileError
from tokshift.core.params import ParamsError
from tokshift.evaluation.ensemble import EnsembleEvalConfig, ensemble_all


@pytest.fixture(scope="module")
def bpe_transfer(corpus_file, tiny_models, tmp_path_factory):
    """The tiny tied Llama moved onto a second byte-level BPE (de-bpe-300) with FVT."""
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer
    from tokshift.transfers.methods import transfer

    root = tmp_path_factory.mktemp("ensemble")
    cfg = TokenizerConfig(model="bpe", vocab_size=300, langs=["de"])
    train_tokenizer(corpus_file, cfg, root / "tok" / "de-bpe-300")
    transfer(tiny_models["llama-tied"], root / "tok" / "de-bpe-300", "fvt", root / "transfer" / "de-bpe-300" / "fvt")
    return root / "transfer"


def config(**kwargs) -> EnsembleEvalConfig:
    return EnsembleEvalConfig(**{"transfers": ["de-bpe-300/fvt"], "max_bytes_per_lang": 300, "device": "cpu",
                                 "score": ByteScoreConfig(window=64, stride=48, max_tokens=64), **kwargs})


def test_rows_run_from_the_transfer_alone_to_the_original_alone(bpe_transfer, tiny_models, corpus_file):
    rows = ensemble_all(tiny_models["llama-tied"], bpe_transfer, corpus_file, config())
    assert {r["combination"] for r in rows} == {"mixture", "product"} and {r["lang"] for r in rows} == {"de"}
    by = {(r["combination"], r["weight"]): r["bpb"] for r in rows}
    assert set(by) == {(how, w) for how in ("mixture", "product") for w in (0.0, 0.25, 0.5, 0.75, 1.0)}
    assert by["mixture", 0.0] == by["product", 0.0] and by["mixture", 1.0] == by["product", 1.0]
    assert by["mixture", 0.0] != by["mixture", 1.0]  # two different models
    # a half-half mixture costs at most one bit per byte more than the better model, and is never below
    # what the two could do if each byte took the better of them
    assert by["mixture", 0.5] <= min(by["mixture", 0.0], by["mixture", 1.0]) + 1.0
    assert all(r["bytes"] == rows[0]["bytes"] > 200 for r in rows)


def test_a_missing_transfer_is_named(bpe_transfer, tiny_models, corpus_file):
    with pytest.raises(MissingFileError, match="ensemble_eval.transfers"):
        ensemble_all(tiny_models["llama-tied"], bpe_transfer, corpus_file, config(transfers=["de-bpe-300/focus"]))


def test_weights_must_include_the_plain_average():
    with pytest.raises(ParamsError, match="weights"):
        config(weights=[0.3])
