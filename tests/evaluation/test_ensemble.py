"""ensemble_eval: the original and second models (a transfer and its controls) scored byte by byte on the same
sample chunks, combined, weights picked on valid and reported on test with intervals."""

import pytest

from tokshift.bytelevel.score import ByteScoreConfig
from tokshift.core.errors import MissingFileError
from tokshift.core.params import ParamsError
from tokshift.evaluation.ensemble import EnsembleEvalConfig, combined_bits, ensemble_all
from tokshift.evaluation.ensemble_audit import audit, audit_pair


@pytest.fixture(scope="module")
def bpe_transfers(corpus_file, tiny_models, tmp_path_factory):
    """The tiny tied Llama moved onto a second byte-level BPE (de-bpe-300) with FVT and with random embeddings."""
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer
    from tokshift.transfers.methods import transfer

    root = tmp_path_factory.mktemp("ensemble")
    cfg = TokenizerConfig(model="bpe", vocab_size=300, langs=["de"])
    train_tokenizer(corpus_file, cfg, root / "tok" / "de-bpe-300")
    for method in ("fvt", "random"):
        transfer(tiny_models["llama-tied"], root / "tok" / "de-bpe-300", method,
                 root / "transfer" / "de-bpe-300" / method)
    return root / "transfer"


def config(**kwargs) -> EnsembleEvalConfig:
    return EnsembleEvalConfig(**{"transfers": ["de-bpe-300/fvt"], "controls": ["random", "vocabulary"],
                                 "max_bytes_per_lang": 400, "valid_max_bytes": 200, "draws": 200, "device": "cpu",
                                 "vocabulary_max_bytes": 5000,
                                 "score": ByteScoreConfig(window=64, stride=48, max_tokens=64), **kwargs})


@pytest.fixture(scope="module")
def scored(bpe_transfers, tiny_models, samples_file, corpus_file):
    return ensemble_all(tiny_models["llama-tied"], bpe_transfers, samples_file, corpus_file, config())


def test_every_second_model_is_scored_on_the_same_chunks(scored):
    entry = scored["de-bpe-300/fvt"]["de"]
    assert set(entry["seconds"]) == {"fvt", "random", "vocabulary"}
    for split in ("valid", "test"):
        lengths = [len(c["text"].encode()) for c in entry["chunks"][split]]
        for model in [entry["original"], *entry["seconds"].values()]:
            assert [len(d) for d in model[split].dists] == lengths  # one distribution per byte
            assert len(model[split].token_bits) == len(lengths)


def test_the_audit_reports_models_alone_and_ensembles(scored):
    metrics, rows = audit(scored, [0.25, 0.5, 0.75], draws=200)
    entry = metrics["de-bpe-300/fvt"]["de"]
    assert set(entry["alone"]) == {"original", "fvt", "random", "vocabulary"}
    for model in entry["alone"].values():
        assert model["lo"] <= model["bpb"] <= model["hi"] and "verdict" in model["byte_vs_token"]
    for second, by_how in entry["ensembles"].items():
        for how, result in by_how.items():
            assert result["weight"] in (0.25, 0.5, 0.75)
            assert result["vs_better"]["verdict"] in ("tie", "lower", "higher")
            curve = {r["weight"]: r["bpb"] for r in rows if r["second"] == second and r["combination"] == how}
            assert curve[1.0] == entry["alone"]["original"]["bpb"] and curve[0.0] == entry["alone"][second]["bpb"]
            assert result["bpb"] == curve[result["weight"]] and result["at_half"]["bpb"] == curve[0.5]


def test_the_weight_is_picked_on_valid(scored):
    entry = scored["de-bpe-300/fvt"]["de"]
    second, chunks = entry["seconds"]["random"], entry["chunks"]
    result, _ = audit_pair(entry["original"], second, chunks, [0.25, 0.5, 0.75], 200)
    for how in ("mixture", "product"):
        valid = {w: sum(combined_bits(entry["original"]["valid"], second["valid"], chunks["valid"], w, how))
                 for w in (0.25, 0.5, 0.75)}
        assert valid[result[how]["weight"]] == min(valid.values())


def test_a_model_combined_with_itself_gains_nothing(scored):
    entry = scored["de-bpe-300/fvt"]["de"]
    result, curve = audit_pair(entry["original"], entry["original"], entry["chunks"], [0.25, 0.5, 0.75], 200)
    for how in ("mixture", "product"):
        assert result[how]["vs_better"]["value"] == pytest.approx(0.0, abs=1e-6)
        assert result[how]["vs_better"]["verdict"] == "tie"
    assert len({round(r["bpb"], 4) for r in curve}) == 1


def test_missing_transfers_and_controls_are_named(bpe_transfers, tiny_models, samples_file, corpus_file):
    with pytest.raises(MissingFileError, match="ensemble_eval.transfers"):
        ensemble_all(tiny_models["llama-tied"], bpe_transfers, samples_file, corpus_file,
                     config(transfers=["de-bpe-300/focus"]))
    with pytest.raises(MissingFileError, match="transfer.methods"):
        ensemble_all(tiny_models["llama-tied"], bpe_transfers, samples_file, corpus_file, config(controls=["mean"]))


def test_weights_must_include_the_plain_average():
    with pytest.raises(ParamsError, match="weights"):
        config(weights=[0.3])
