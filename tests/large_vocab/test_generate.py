"""Generation over a large vocabulary through the index equals the exact argmax with a Flat index."""

from __future__ import annotations

import pytest

from tokshift.large_vocab.vocabulary import extend_vocabulary, pretoken_counts


def test_longest_match_and_generation_with_the_index(base, tiny, corpus_file, tmp_path):
    import torch

    from tokshift.data.corpus import read_corpus
    from tokshift.large_vocab.folder import embed_extra_tokens, output_matrix
    from tokshift.large_vocab.generate import GenerateConfig, generate
    from tokshift.large_vocab.index import IndexConfig, build_index, load_index
    from tokshift.large_vocab.vocabulary import LargeVocab

    model, _, hyper = tiny
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
