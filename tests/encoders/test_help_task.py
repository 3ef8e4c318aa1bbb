"""The help task: translations paired by page and paragraph id, held out of training, labelled by help module."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokshift.core.params import ParamsError, from_dict
from tokshift.data.corpus import SCHEMA as CORPUS_SCHEMA
from tokshift.encoders.help_task import HELP_PACKAGES, HelpTaskConfig, TaskError, build_help_task, read_help_task

MODULES = ["swriter", "scalc", "simpress"]


def english(module: str, page: int, par: int) -> str:
    return f"In {module} page {page} paragraph {par} you can do things that need a long enough explanation."


def translated(lang: str, module: str, page: int, par: int) -> str:
    return f"[{lang}] {english(module, page, par)}"


def help_tree(raw: Path, lang: str, folder: str, texts) -> None:
    """An unpacked help package (and its cached .deb, so nothing is downloaded)."""
    package = HELP_PACKAGES[lang]
    (raw / "debs").mkdir(parents=True, exist_ok=True)
    (raw / "debs" / f"{package}.deb").write_bytes(b"")
    for module in MODULES:
        for page in range(8):
            path = raw / "deb" / package / "usr/share/libreoffice/help" / folder / "text" / module / f"p{page}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            paras = "".join(f'<p id="par_id{par}" class="paragraph">{texts(module, page, par)}</p>' for par in range(6))
            path.write_text(f"<html><body><h1 id=\"hd_id1\">Title</h1>{paras}"
                            f'<p id="par_id9">Choose Tools - Options - the same boilerplate everywhere.</p>'
                            f"</body></html>", encoding="utf-8")


@pytest.fixture
def task_inputs(tmp_path):
    raw = tmp_path / "raw"
    help_tree(raw, "en", "en-US", english)
    # de leaves page 0's paragraph 0 untranslated; ja is complete.
    help_tree(raw, "de", "de", lambda m, p, q: english(m, p, q) if (p, q) == (0, 0) else translated("de", m, p, q))
    help_tree(raw, "ja", "ja", lambda m, p, q: translated("ja", m, p, q))
    seen = [translated("de", m, 1, 1) for m in MODULES]  # in the corpus's train split: never a test item
    rows = [{"doc_id": str(i), "lang": "de", "source": "x", "split": "train", "text": f"intro\n{t}"}
            for i, t in enumerate(seen)]
    corpus = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA), corpus)
    cfg = HelpTaskConfig(langs=["de", "ja"], raw_dir=str(raw), test_items=1000, train_items=1000,
                         min_label_items=2, min_test_items=5)
    return cfg, corpus, tmp_path / "task.parquet", seen


def test_items_pair_translations_held_out_and_labelled_by_module(task_inputs):
    cfg, corpus, out, seen = task_inputs
    metrics = build_help_task(cfg, corpus, out)
    rows = read_help_task(out).to_pylist()
    test = [r for r in rows if r["split"] == "test" and r["lang"] != "en"]
    for r in test:  # text/<module>/p<page>.html + par_id<par> name the same paragraph in both languages
        module, page = r["page"].split("/")[1], int(r["page"].split("/p")[-1].split(".")[0])
        par = int(r["par_id"].removeprefix("par_id"))
        assert (r["text"], r["en_text"]) == (translated(r["lang"], module, page, par), english(module, page, par))
    assert test
    assert all(r["en_text"] != r["text"] for r in test)  # untranslated paragraphs are no items
    assert not {r["text"] for r in test} & set(seen)  # text the tokenizers saw in training is held out
    assert {r["label"] for r in rows} == {"Writer", "Calc", "Impress"}
    assert all(r["label"] == {"swriter": "Writer", "scalc": "Calc", "simpress": "Impress"}[r["page"].split("/")[1]]
               for r in rows)
    assert not any("boilerplate" in r["text"] or r["text"] == "Title" for r in rows)  # repeated / short
    train_pages = {r["page"] for r in rows if r["split"] == "train"}
    assert train_pages and not train_pages & {r["page"] for r in rows if r["split"] == "test"}
    assert {r["lang"] for r in rows if r["split"] == "train"} == {"en"}
    assert metrics["items"]["de/test"] == len([r for r in test if r["lang"] == "de"])
    assert metrics["items"]["ja/test"] > metrics["items"]["de/test"]  # de lost the untranslated and seen ones


def test_build_is_deterministic(task_inputs, tmp_path):
    cfg, corpus, out, _ = task_inputs
    build_help_task(cfg, corpus, out)
    build_help_task(cfg, corpus, tmp_path / "again.parquet")
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "again.parquet"))


def test_a_language_with_too_few_items_is_named(task_inputs):
    cfg, corpus, out, _ = task_inputs
    cfg.min_test_items = 500
    with pytest.raises(TaskError, match="language 'de': only .* test items"):
        build_help_task(cfg, corpus, out)
    assert not out.exists()


def test_unknown_labels_and_missing_files_are_named(task_inputs):
    cfg, corpus, out, _ = task_inputs
    build_help_task(cfg, corpus, out)
    with pytest.raises(TaskError, match=r"unknown label\(s\) \['Calc'"):
        read_help_task(out, labels=["Impress", "Writer"])
    with pytest.raises(TaskError, match="nothing.parquet: task file not found"):
        read_help_task(out.parent / "nothing.parquet")


def test_a_language_without_a_help_package_is_refused():
    with pytest.raises(ParamsError, match=r"help_task.langs\[0\] 'code' has no LibreOffice help package"):
        from_dict(HelpTaskConfig, {"langs": ["code"]}, "help_task")
