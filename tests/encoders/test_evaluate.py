"""The encoder evaluation: retrieval ranks, a topic classifier, and a transfer that changes nothing scores as the
original (the only difference between models is what the transfer changed)."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tests.helpers import make_text
from tokshift.encoders.evaluate import EncoderEvalConfig, evaluate_encoder, retrieval_scores, topic_head
from tokshift.encoders.help_task import SCHEMA, TaskError
from tokshift.tokenization.training import TOKENIZER_META
from tokshift.transfers.methods import transfer


def test_retrieval_ranks_each_query_against_every_passage():
    passages = torch.eye(4)
    assert retrieval_scores(passages, passages) == (1.0, 1.0)
    swapped = passages[[1, 0, 2, 3]]  # queries 0 and 1 find each other's passage first, theirs second
    p1, mrr = retrieval_scores(swapped, passages)
    assert p1 == 0.5 and mrr == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)


def test_topic_head_separates_separable_classes():
    torch.manual_seed(0)
    centers = torch.eye(3, 8) * 4
    labels = torch.arange(3).repeat(30)
    emb = centers[labels] + 0.3 * torch.randn(90, 8)
    head = topic_head(emb, labels, 3, EncoderEvalConfig())
    assert (head(emb).argmax(1) == labels).all()


@pytest.fixture
def task_file(tmp_path):
    """English train items with two labels and de test items (seeded pseudo-text)."""
    rows = []
    for i in range(40):
        label = "Calc" if i % 2 else "Writer"
        en = make_text("de", 1, i if label == "Calc" else 1000 + i)
        split, lang = ("train", "en") if i < 24 else ("test", "de")
        rows.append({"lang": lang, "split": split, "page": f"text/p{i}.html", "par_id": "par_id1", "label": label,
                     "text": en if lang == "en" else make_text("de", 1, 5000 + i), "en_text": en})
    out = tmp_path / "task.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), out)
    return out


def test_a_transfer_to_the_base_tokenizer_scores_as_the_original(tiny_e5, task_file, tmp_path):
    same = tmp_path / "tokenizers" / "same"
    shutil.copytree(tiny_e5["folder"], same, ignore=shutil.ignore_patterns("*.safetensors", "config.json"))
    (same / TOKENIZER_META).write_text(json.dumps({"langs": ["de"]}))
    transfer(tiny_e5["folder"], same, "fvt", tmp_path / "transfer" / "same" / "fvt")
    rows = evaluate_encoder(tiny_e5["folder"], [tmp_path / "transfer" / "same" / "fvt"], task_file,
                            EncoderEvalConfig())
    original, moved = (next(r for r in rows if r["model"] == m and r["lang"] == "de") for m in ("original", "same/fvt"))
    for key in ("tokens", "p_at_1", "mrr", "accuracy"):
        assert moved[key] == original[key], key
    assert moved["token_ratio"] == 1.0 and original["items"] == 16
    # the same scores item by item: a paired difference of exactly zero, a tie
    assert moved["p_at_1_vs_original"] == {"value": 0.0, "lo": 0.0, "hi": 0.0, "verdict": "tie"}
    assert original["p_at_1_lo"] <= original["p_at_1"] <= original["p_at_1_hi"] and "p_at_1_vs_original" not in original
    assert {r["lang"] for r in rows if r["model"] == "original"} == {"de"}


def test_a_real_transfer_changes_tokens_and_scores(tiny_e5, task_file, tmp_path):
    transfer(tiny_e5["folder"], tiny_e5["target"], "random", tmp_path / "t" / "de-sp-200" / "random", seed=0)
    rows = evaluate_encoder(tiny_e5["folder"], [tmp_path / "t" / "de-sp-200" / "random"], task_file,
                            EncoderEvalConfig())
    moved = next(r for r in rows if r["method"] == "random")
    assert moved["token_ratio"] != 1.0 and 0 <= moved["p_at_1"] <= 1 and 0 <= moved["accuracy"] <= 1
    diff = moved["accuracy_vs_original"]
    assert diff["lo"] <= diff["value"] <= diff["hi"] and "accuracy_vs_fvt" not in moved  # no FVT transfer here


def test_a_transfer_for_a_language_without_test_items_is_named(tiny_e5, task_file, tmp_path):
    transfer(tiny_e5["folder"], tiny_e5["target"], "mean", tmp_path / "t", seed=0)
    meta = json.loads((tmp_path / "t" / "transfer.json").read_text())
    meta["languages"] = ["ko"]
    (tmp_path / "t" / "transfer.json").write_text(json.dumps(meta))
    with pytest.raises(TaskError, match=r"languages \['ko'\] have no test items"):
        evaluate_encoder(tiny_e5["folder"], [tmp_path / "t"], task_file, EncoderEvalConfig())


@pytest.fixture(scope="module")
def e5_hypernet(tiny_e5, tmp_path_factory):
    """An untrained hypernetwork for the tiny encoder (heads at zero: FVT embeddings of merged tokens)."""
    from tests.helpers import hyper_for
    from tokshift.hypernet.folder import base_fingerprint, save_hypernet
    from tokshift.model.base import load_model

    model, _ = load_model(str(tiny_e5["folder"]))
    out = tmp_path_factory.mktemp("e5-hypernet")
    save_hypernet(hyper_for(model, max_pieces=16), out, base_fingerprint(model))
    return out


def test_dynamic_reduction_zero_is_the_original_and_targets_shorten(tiny_e5, e5_hypernet, task_file):
    from tokshift.encoders.dynamic import EncoderDynamicConfig, evaluate_encoder_dynamic

    cfg = EncoderDynamicConfig(reductions=[0.0, 0.2], batch_size=8, eval=EncoderEvalConfig(batch_size=5))
    rows = evaluate_encoder_dynamic(tiny_e5["folder"], e5_hypernet, task_file, cfg)
    original = evaluate_encoder(tiny_e5["folder"], [], task_file, EncoderEvalConfig())[0]
    zero, shorter, *pooled = rows
    assert (zero["target"], zero["reduction"], zero["tokens"]) == (0.0, 0.0, original["tokens"])
    # one language: the all-languages rows are that language's
    assert [(r["lang"], r["p_at_1"], r["reduction"]) for r in pooled] == [
        ("all", r["p_at_1"], r["reduction"]) for r in (zero, shorter)]
    for key in ("p_at_1", "mrr", "accuracy"):
        assert zero[key] == pytest.approx(original[key], abs=1e-6), key
    assert shorter["reduction"] > 0 and shorter["tokens"] < zero["tokens"]  # as far as pairs repeat in a batch
    assert shorter["accuracy_change_lo"] <= shorter["accuracy_change"] <= shorter["accuracy_change_hi"]
    assert zero["accuracy_change"] == 0.0 and zero["accuracy_verdict"] == "tie"


def test_a_saved_reference_replaces_the_english_side_exactly(tiny_e5, e5_hypernet, task_file, tmp_path, monkeypatch,
                                                             caplog):
    from tokshift.encoders.dynamic import EncoderDynamicConfig, evaluate_encoder_dynamic
    from tokshift.encoders.evaluate import HelpTaskEval

    cfg = EncoderDynamicConfig(reductions=[0.0, 0.2], batch_size=8, eval=EncoderEvalConfig(batch_size=5))
    fresh = evaluate_encoder_dynamic(tiny_e5["folder"], e5_hypernet, task_file, cfg)
    reference = tmp_path / "reference.safetensors"
    evaluate_encoder(tiny_e5["folder"], [], task_file, cfg.eval, reference=reference)
    embedded = []
    original_embed = HelpTaskEval.embed
    monkeypatch.setattr(HelpTaskEval, "embed", lambda self, texts, *a: embedded.append(len(texts)) or
                        original_embed(self, texts, *a))
    assert evaluate_encoder_dynamic(tiny_e5["folder"], e5_hypernet, task_file, cfg, reference) == fresh
    assert sum(embedded) == 0  # the dynamic side embeds with the DynamicEmbedder; nothing English was redone
    # settings that change the English side make the reference stale: it is recomputed, with a warning
    other = EncoderEvalConfig(batch_size=5, max_length=64)
    HelpTaskEval(tiny_e5["folder"], task_file, other, reference)
    assert sum(embedded) > 0 and "reference is for another model, task or settings" in caplog.text
