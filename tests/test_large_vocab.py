"""The large vocabulary: BPE continued from the base tokenizer."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from tokshift.large_vocab.vocabulary import extend_vocabulary, pretoken_counts
from tokshift.tokenization.spelling import token_string


@pytest.fixture(scope="module")
def base(tokenizers_dir) -> Tokenizer:
    return Tokenizer.from_file(str(tokenizers_dir / "de-bpe-400" / "tokenizer.json"))


def test_pretoken_counts_skip_specials_and_single_tokens(base):
    counts = pretoken_counts(["Haushalt Haushalt<|endoftext|>a", "Haushalt"], base, batch=1)
    spelled = base.encode(" Haushalt", add_special_tokens=False).ids
    assert counts[tuple(spelled)] == 1 and counts[tuple(base.encode("Haushalt").ids)] == 2
    assert all(len(k) > 1 for k in counts)
    assert not any(i in k for k in counts for i in (0, 1, 2)), "special tokens never join a pretoken"


def test_extended_vocabulary_keeps_growing_from_the_base(base):
    texts = ["Der Haushalt plant den Haushaltsplan. Haushalt und Garten."] * 5 + ["Gartenhaus"] * 3
    counts = pretoken_counts(texts, base)
    size = base.get_vocab_size() + 12
    new = extend_vocabulary(counts, base, size, max_pieces=8)
    strings = [token_string(t, base) for t in new]
    assert len(new) == 12 and len(set(strings)) == 12
    assert not set(strings) & set(base.get_vocab()), "new tokens only"
    assert all(len(t) <= 8 for t in new)
    everything = extend_vocabulary(counts, base, base.get_vocab_size() + 10_000, max_pieces=32)
    assert "ĠHaushalt" in {token_string(t, base) for t in everything} and len(everything) < 10_000
    with pytest.raises(ValueError, match="must exceed the base vocabulary"):
        extend_vocabulary(counts, base, 10)


@pytest.fixture(scope="module")
def tiny(tiny_models):
    import torch

    from tokshift.hypernet.model import HypernetConfig, Hypernetwork
    from tokshift.model.base import load_model
    from tokshift.model.embeddings import embedding_matrices

    model, _ = load_model(str(tiny_models["llama-tied"]))
    torch.manual_seed(0)
    return model, Hypernetwork(HypernetConfig(n_layers=1, hidden=16, n_heads=2, max_pieces=8),
                               embedding_matrices(model))


def test_shards_resume_and_the_index_refuses_other_embeddings(base, tiny, corpus_file, tmp_path):
    import torch

    from tokshift.data.corpus import read_corpus
    from tokshift.large_vocab.evaluate import argmax_found, recall_at_k
    from tokshift.large_vocab.folder import embed_extra_tokens, output_matrix
    from tokshift.large_vocab.index import IndexConfig, IndexMismatchError, build_index, load_index

    model, hyper = tiny
    texts = read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()
    new = extend_vocabulary(pretoken_counts(texts, base), base, base.get_vocab_size() + 300, max_pieces=8)
    shards = embed_extra_tokens(hyper, new, base, tmp_path / "emb", shard_size=128)
    assert [p.name for p in shards] == ["emb-00000.safetensors", "emb-00001.safetensors", "emb-00002.safetensors"]
    kept = shards[0].stat().st_mtime_ns
    shards[1].unlink()  # as if killed while writing the second shard
    assert embed_extra_tokens(hyper, new, base, tmp_path / "emb", shard_size=128) == shards
    assert shards[1].exists() and shards[0].stat().st_mtime_ns == kept, "finished shards are not recomputed"

    matrix = output_matrix(model, shards)
    assert matrix.shape == (base.get_vocab_size() + len(new), model.config.hidden_size)
    torch.manual_seed(0)
    queries = torch.randn(50, matrix.shape[1])
    exact = IndexConfig(kind="Flat", mips_to_l2=False, whiten=False)
    build_index(matrix, exact, tmp_path / "flat")
    assert recall_at_k(load_index(tmp_path / "flat", matrix, exact), matrix, queries, 10) == 1.0
    l2 = IndexConfig(kind="Flat", whiten=False)  # inner product as L2: same order
    build_index(matrix, l2, tmp_path / "flat-l2")
    assert recall_at_k(load_index(tmp_path / "flat-l2", matrix, l2), matrix, queries, 10) > 0.99
    white = IndexConfig(kind="Flat")  # whitened coordinates: same inner products
    build_index(matrix, white, tmp_path / "flat-white", states=torch.randn(200, matrix.shape[1]) + 3)
    assert recall_at_k(load_index(tmp_path / "flat-white", matrix, white), matrix, queries, 10) > 0.99
    with pytest.raises(ValueError, match="index.whiten"):
        build_index(matrix, white, tmp_path / "no-states")
    meta = build_index(matrix, IndexConfig(kind="HNSW32", whiten=False), tmp_path / "hnsw")
    assert meta["rows"] == len(matrix) and meta["index_bytes"] > 0
    assert recall_at_k(load_index(tmp_path / "hnsw", matrix, IndexConfig()), matrix, queries, 10) >= 0.9
    assert argmax_found(load_index(tmp_path / "flat", matrix, exact), matrix, queries, 1) == 1.0

    with pytest.raises(IndexMismatchError, match="other embeddings"):
        load_index(tmp_path / "hnsw", matrix * 1.01, IndexConfig())
    with pytest.raises(IndexMismatchError, match="rebuild"):
        load_index(tmp_path / "hnsw", matrix[:, :8], IndexConfig())
    with pytest.raises(FileNotFoundError, match="dvc repro vocab_index"):
        load_index(tmp_path / "missing", matrix, IndexConfig())


def test_longest_match_and_generation_with_the_index(base, tiny, corpus_file, tmp_path):
    import torch

    from tokshift.data.corpus import read_corpus
    from tokshift.large_vocab.folder import embed_extra_tokens, output_matrix
    from tokshift.large_vocab.generate import GenerateConfig, generate
    from tokshift.large_vocab.index import IndexConfig, build_index, load_index
    from tokshift.large_vocab.vocabulary import LargeVocab

    model, hyper = tiny
    texts = read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()
    new = extend_vocabulary(pretoken_counts(texts, base), base, base.get_vocab_size() + 200, max_pieces=8)
    shards = embed_extra_tokens(hyper, new, base, tmp_path / "emb", shard_size=64)
    vocab = LargeVocab.load(base, [list(t) for t in new], shards)
    text = texts[0][:300] + "<|im_end|> 👍🏽\x00"
    ids = vocab.encode(text)
    assert b"".join(vocab.token_bytes(i) for i in ids) == text.encode("utf-8")
    assert len(ids) < len(base.encode(text, add_special_tokens=False).ids) and max(ids) >= base.get_vocab_size()
    assert base.token_to_id("<|im_end|>") in ids, "special tokens stay whole"

    matrix = output_matrix(model, shards)
    exact = IndexConfig(kind="Flat", mips_to_l2=False, whiten=False)
    build_index(matrix, exact, tmp_path / "idx")
    index = load_index(tmp_path / "idx", matrix, exact)
    prompt = texts[1][:80]
    result = generate(model, vocab, index, matrix, prompt, start_id=0, cfg=GenerateConfig(max_new_tokens=5, k=20))
    assert result.steps == 5 and len(result.ids) == 5
    # With an exact (Flat) index the first token is the argmax over the whole large vocabulary.
    embeds = vocab.input_rows(model, [0, *vocab.encode(prompt)])[None]
    h = model.base_model(inputs_embeds=embeds).last_hidden_state[0, -1]
    assert result.ids[0] == int(torch.argmax(matrix @ h))
    again = vocab.input_rows(model, [0, *vocab.encode(prompt), result.ids[0]])[None]  # no KV cache
    h2 = model.base_model(inputs_embeds=again).last_hidden_state[0, -1]
    assert result.ids[1] == int(torch.argmax(matrix @ h2)), "the cached step sees the token it was fed"
    sampling = GenerateConfig(max_new_tokens=5, temperature=1.0, seed=3)
    sampled = generate(model, vocab, index, matrix, prompt, start_id=0, cfg=sampling)
    assert sampled.ids == generate(model, vocab, index, matrix, prompt, start_id=0, cfg=sampling).ids, \
        "seeded sampling repeats"
    for bad in ("", "  \n\t", "\x00\x01"):
        with pytest.raises(ValueError, match="only whitespace/control"):
            generate(model, vocab, index, matrix, bad, start_id=0)


def test_generate_command_names_a_missing_index(tiny_models, tmp_path, capsys):
    from tokshift.cli import main

    assert main(["generate", "--model", str(tiny_models["llama-tied"]), "--vocab-index", str(tmp_path / "none"),
                 "Hallo"]) == 2
    assert "dvc repro vocab_index" in capsys.readouterr().err


def test_whitening_keeps_inner_products_and_lets_ivf_find_what_queries_look_for(tmp_path):
    import torch

    from tokshift.large_vocab.evaluate import recall_at_k
    from tokshift.large_vocab.index import IndexConfig, build_index, load_index
    from tokshift.large_vocab.whiten import Whitening

    torch.manual_seed(0)
    d = 32
    rows = torch.randn(4000, d) * torch.rand(4000, 1)
    spread = torch.randn(d, d) * torch.logspace(0, -2, d)

    def hidden(n: int) -> torch.Tensor:  # like a model's states: a large shared direction, anisotropic rest
        return 6 * torch.ones(d) + torch.randn(n, d) @ spread

    fit, queries = hidden(500), hidden(100)
    white = Whitening.fit(fit)
    assert torch.allclose(torch.from_numpy(white.transform_queries(queries.numpy()) @ white.transform_rows(rows).T),
                          queries @ rows.T, rtol=1e-3, atol=1e-2)
    assert torch.allclose(white.query.T @ white.rows, torch.eye(d), atol=1e-4)

    recall = {}
    for whiten in (False, True):
        cfg = IndexConfig(kind="IVF64,Flat", nprobe=4, whiten=whiten)
        build_index(rows, cfg, tmp_path / str(whiten), states=fit)
        recall[whiten] = recall_at_k(load_index(tmp_path / str(whiten), rows, cfg), rows, queries, 10)
    assert recall[True] >= 0.95 and recall[True] > recall[False] + 0.2, recall
    with pytest.raises(ValueError, match="at least 2 query states"):
        Whitening.fit(fit[:1])
