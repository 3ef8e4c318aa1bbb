"""Stage `vocab_index`: a large vocabulary, its hypernetwork embeddings and a FAISS index (params.yaml: vocab_index).

Embedding shards are computed under --work (outside DVC's outputs, keyed by the vocabulary and the
hypernetwork), so a killed run resumes at the next shard; the finished folder is written atomically.
"""

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tokshift.atomic import atomic_dir, write_json
from tokshift.base_model import load_model
from tokshift.corpus import split_texts
from tokshift.evaluate import ScoreConfig, bos_id, capped_texts, head_texts, score_texts
from tokshift.hypernet.predict import load_hypernet
from tokshift.large_generate import LargeVocab, hidden_states, large_vocab_bits, sample_queries, split_query_states
from tokshift.large_vocab import extend_vocabulary, pretoken_counts
from tokshift.params import load_section
from tokshift.stage import run_stage, stage_parser
from tokshift.vocab_index import (
    VocabIndexConfig,
    argmax_found,
    build_index,
    embed_extra_tokens,
    load_index,
    output_latency,
    output_matrix,
    recall_at_k,
)


def main(args) -> None:
    cfg = load_section(args.params, "vocab_index", VocabIndexConfig)
    facts: dict = {}
    model, tok = load_model(args.model)
    model.eval()
    base = tok.backend_tokenizer
    hyper = load_hypernet(args.hypernet, model)

    start = time.time()
    texts = [t for lang in cfg.langs for t in
             capped_texts(split_texts(args.corpus, "train", lang, "vocab_index.langs"), cfg.max_bytes_per_lang)]
    extra = extend_vocabulary(pretoken_counts(texts, base), base, cfg.size, hyper.cfg.max_pieces, cfg.min_count)
    facts["extend_seconds"] = round(time.time() - start, 1)

    key = hashlib.sha256(json.dumps([extra, str(Path(args.hypernet).resolve()), cfg.shard_size]).encode())
    key.update((Path(args.hypernet) / "hypernet.safetensors").read_bytes())
    work = Path(args.work) / key.hexdigest()[:16]
    start = time.time()
    with torch.no_grad():
        shards = embed_extra_tokens(hyper, extra, base, work, cfg.shard_size)
    facts["embed_seconds"] = round(time.time() - start, 1)

    start_id = bos_id(tok)
    vocab = LargeVocab.load(base, extra, shards)
    # example queries for the index's whitening: hidden states on train text
    fit = split_query_states(model, vocab, args.corpus, "train", cfg.langs, cfg.fit_max_bytes, start_id,
                             "vocab_index.langs")
    with atomic_dir(args.out) as tmp:
        (tmp / "emb").mkdir()
        for shard in shards:
            shutil.copy(shard, tmp / "emb" / shard.name)
        (tmp / "tokens.json").write_text(json.dumps([list(t) for t in extra]) + "\n", encoding="utf-8")
        matrix = output_matrix(model, sorted((tmp / "emb").glob("emb-*.safetensors")))
        index_facts = build_index(matrix, cfg.index, tmp, states=fit)
        meta = {"base_vocab_size": base.get_vocab_size(with_added_tokens=True), "size": len(matrix),
                "hypernet": str(args.hypernet), "index": asdict(cfg.index)}
        (tmp / "vocab.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    index = load_index(Path(args.out), matrix, cfg.index)

    per_lang, queries = {}, []
    with torch.no_grad():
        for lang in cfg.eval_langs:
            sample = head_texts(split_texts(args.corpus, "test", lang, "vocab_index.eval_langs"), cfg.eval_max_bytes)
            n_bytes = sum(len(t.encode("utf-8")) for t in sample)
            states, ids = hidden_states(model, vocab, sample, start_id, window=2048)
            base_score = score_texts(model, tok, sample, ScoreConfig(window=2048, stride=2047, batch_tokens=2048))
            large_tokens = sum(len(i) - 1 for i in ids)
            per_lang[lang] = {
                "bytes": n_bytes, "base_tokens": base_score.n_tokens, "large_tokens": large_tokens,
                "token_reduction": round(1 - large_tokens / max(1, base_score.n_tokens), 4),
                "base_bpb": round(base_score.bpb, 4),
                "large_bpb": round(large_vocab_bits(states, ids, matrix) / n_bytes, 4)}
            queries += [s[:-1] for s in states]
    pool = torch.cat(queries)
    pool = sample_queries(pool, cfg.queries)
    write_json(args.metrics, {
        "vocabulary": len(matrix), "extra_tokens": len(extra), **facts,
        "index": {k: index_facts[k] for k in ("kind", "build_seconds", "index_bytes")},
        "fit_states": len(fit),
        "embeddings_bytes": sum(s.stat().st_size for s in shards) + matrix[:len(matrix) - len(extra)].numel() * 4,
        f"recall_at_{cfg.k}": round(recall_at_k(index, matrix, pool, cfg.k), 4),
        f"argmax_in_top_{cfg.k}": round(argmax_found(index, matrix, pool, cfg.k), 4),
        "output_layer": output_latency(index, matrix, pool, cfg.k),
        "langs": per_lang})


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--hypernet", required=True, help="trained hypernetwork folder")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="vocabulary index folder to write")
    parser.add_argument("--work", required=True, help="folder for resumable embedding shards (kept between runs)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
