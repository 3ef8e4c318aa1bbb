"""CompoundPiece tokenizers: trained on decompounded words, saved as a stock tokenizer, measured on compounds."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from tests.compounds.planted import compounds, planted_texts, write_corpus
from tokshift.compounds.measure import CompoundEvalConfig, measure_compounds, split_words
from tokshift.compounds.pairs import CompoundDataConfig, boundaries, build_pairs
from tokshift.compounds.tokenizer import MARK, marked_texts
from tokshift.core.params import ParamsError
from tokshift.tokenization.training import TokenizerConfig, load_tokenizer, train_tokenizer

JOINED = {(a + b).lower(): (len(a),) for a, b in compounds()}
FREQUENT = ["Haustür", "Dateimenü", "Fensterrahmen"]
TEXTS = planted_texts() + [" ".join(FREQUENT * 40)]  # frequent joined compounds: plain BPE learns them whole


class Lookup:
    """A decompounder that knows the planted compounds."""

    def split_all(self, words):
        return [JOINED.get(w, ()) for w in words]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("compound-tok")
    corpus = write_corpus(root / "corpus.parquet", TEXTS)
    cfg = TokenizerConfig(model="bpe", vocab_size=600, langs=["de"])
    texts, counts = marked_texts(TEXTS, Lookup())
    train_tokenizer(corpus, cfg, root / "compound", texts=texts, boundary=MARK)
    train_tokenizer(corpus, cfg, root / "plain")
    return root, counts


def test_marked_texts_cut_each_predicted_word_and_drop_stray_marks():
    texts, counts = marked_texts([f"Die Haustür{MARK} und das Haus."], Lookup())
    assert texts == [f"Die Haus{MARK}tür und das Haus."]
    assert counts == {"distinct_words": 2, "split_words": 1}


def test_compound_tokenizer_is_stock_and_round_trips(trained):
    root, _ = trained
    spec = json.loads((root / "compound" / "tokenizer.json").read_text(encoding="utf-8"))
    assert spec["pre_tokenizer"]["type"] == "ByteLevel" and MARK not in json.dumps(spec)
    tok = AutoTokenizer.from_pretrained(root / "compound")
    text = "Die Haustür, das Dateimenü und die Sicherheit: ü ß 🙂"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_compound_tokens_align_with_more_boundaries_than_plain_ones(trained):
    root, _ = trained
    rows, _ = build_pairs(planted_texts(), CompoundDataConfig(lexicon="", min_compounds=50))
    comp = [r for r in rows if r["compound"]]
    aligned = {name: split_words(name, load_tokenizer(root / name), comp) for name in ("compound", "plain")}
    share = {n: sum(w["aligned"] for w in ws) / sum(w["boundaries"] for w in ws) for n, ws in aligned.items()}
    # BPE merges learned inside parts can still fire across a boundary at inference (haus|tür -> au|st|ür)
    assert share["compound"] >= 0.9
    frequent = {n: [w for w in ws if w["form"] in FREQUENT] for n, ws in aligned.items()}
    assert sum(w["aligned"] for w in frequent["compound"]) >= 2
    assert sorted(w["pieces"] for w in frequent["plain"]) == sorted(FREQUENT)  # one token each: no boundary
    vocab = {}
    for name in ("compound", "plain"):
        tok = load_tokenizer(root / name)
        vocab[name] = {tok.decode([i]) for i in range(tok.get_vocab_size())}
    assert " Haustür" in vocab["plain"] and " Haustür" not in vocab["compound"] and " Haus" in vocab["compound"]
    assert all(w["pieces"].replace("|", "") == w["form"] for w in aligned["compound"])


def test_measure_compounds_writes_the_table_and_paired_metrics(trained, tmp_path):
    root, _ = trained
    rows, _ = build_pairs(planted_texts(), CompoundDataConfig(lexicon="", min_compounds=50))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
    texts = planted_texts(6, seed=1)
    pq.write_table(pa.table({"lang": ["de"] * 6, "split": ["test"] * 6, "doc_id": [f"d{i // 2}" for i in range(6)],
                             "text": texts}), tmp_path / "samples.parquet")
    cfg = CompoundEvalConfig(tokenizers={"compound": str(root / "compound"), "plain": str(root / "plain")},
                             draws=200)
    metrics = measure_compounds(tmp_path / "pairs.parquet", tmp_path / "samples.parquet", tmp_path / "none.parquet",
                                cfg, tmp_path / "out" / "splits.parquet")
    assert metrics["alignment"]["compound"]["value"] >= 0.9
    assert metrics["alignment_vs"]["compound-vs-plain"]["value"] > 0
    assert set(metrics["tokens_per_byte"]) == {"compound", "plain"} and "bpb_vs" not in metrics
    table = pq.read_table(tmp_path / "out" / "splits.parquet")
    test_rows = [r for r in rows if r["split"] == "test"]
    assert table.num_rows == 2 * len(test_rows)
    assert sum(table.column("boundaries").to_pylist()) == 2 * sum(
        len(boundaries(r["segmentation"].split("|"))) for r in test_rows)


def test_compound_eval_needs_two_tokenizers():
    with pytest.raises(ParamsError, match="tokenizers must name at least two"):
        CompoundEvalConfig(tokenizers={"one": "x"})
