"""Stage compound_data: the hyphen pairs and the word counts of one corpus language, as Parquet.

`pairs.parquet` (word, form, segmentation, compound, count, key, split) trains and measures the
decompounders; `words.parquet` (word, count, lexicon) is what the frequency splitter counts with: the train
split's words written without a hyphen, plus the lexicon's nouns (count 1 where the corpus never shows them).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokshift.compounds.lexicon import german_nouns
from tokshift.compounds.pairs import CompoundDataConfig, build_pairs
from tokshift.core.atomic import atomic_dir
from tokshift.data.corpus import EmptyCorpusError, read_corpus


def build_compound_data(corpus: Path, cfg: CompoundDataConfig, raw_dir: Path, out_dir: Path) -> dict:
    """Write pairs.parquet and words.parquet to `out_dir` (atomically); returns the counts as metrics."""
    texts = read_corpus(corpus, split="train", lang=cfg.lang).column("text").to_pylist()
    if not texts:
        raise EmptyCorpusError(f"{corpus}: no train documents for language '{cfg.lang}'; add a source for it in "
                               f"params.yaml: corpus.sources or set compound_data.lang to a corpus language")
    lexicon, lemmas = german_nouns(raw_dir, cfg.lexicon) if cfg.lexicon else (set(), {})
    rows, counts = build_pairs(texts, cfg, lexicon, lemmas)
    words = Counter(counts)
    for noun in lexicon:
        words.setdefault(noun, 1)
    with atomic_dir(out_dir) as tmp:
        pq.write_table(pa.Table.from_pylist(rows), tmp / "pairs.parquet")
        ordered = sorted(words)
        pq.write_table(pa.table({"word": ordered, "count": [words[w] for w in ordered],
                                 "lexicon": [w in lexicon for w in ordered]}), tmp / "words.parquet")
    kinds = Counter((r["split"], "compounds" if r["compound"] else "non_compounds") for r in rows)
    return {"lang": cfg.lang, "train_docs": len(texts), "lexicon_nouns": len(lexicon), "words": len(words),
            **{f"{split}_{kind}": n for (split, kind), n in sorted(kinds.items())}}
