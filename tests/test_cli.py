"""The `tokshift` command: every subcommand on tiny models, and bad input as one line and exit 2."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.helpers import hyper_for, make_text
from tokshift.cli import main as cli_main
from tokshift.hypernet.folder import base_fingerprint, save_hypernet
from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.model.base import load_model
from tokshift.model.embeddings import set_embeddings


def test_cli_sql(stats, capsys):
    out, _, _ = stats
    assert cli_main(["sql", "--stats", str(out), "--format", "json",
                     "SELECT tokenizer, lang FROM fertility WHERE lang = 'ru' ORDER BY tokenizer"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"tokenizer": "de-bpe-400", "lang": "ru"}, {"tokenizer": "ja-unigram-400", "lang": "ru"}]
    assert cli_main(["sql", "--stats", str(out), "--format", "csv",
                     "SELECT lang, n_docs FROM fertility WHERE tokenizer = 'de-bpe-400' ORDER BY lang"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == '"lang","n_docs"' and [line.split(",")[0] for line in lines[1:]] == ['"de"', '"ja"', '"ru"']
    assert cli_main(["sql", "--stats", str(out), "SELECT * FROM no_such_view"]) == 2
    assert "no_such_view" in capsys.readouterr().err
    assert cli_main(["sql", "--stats", str(out / "missing"), "SELECT 1"]) == 2
    assert "no token statistics found" in capsys.readouterr().err
    assert cli_main(["sql", "--stats", str(out), "COPY (SELECT 1) TO 'leak.csv'"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --unrestricted" in err


def test_cli_evaluate_table_and_json(tiny_models, tmp_path, capsys):
    (tmp_path / "de.txt").write_text(make_text("de", 6, 1), encoding="utf-8")
    (tmp_path / "ja.txt").write_text(make_text("ja", 6, 1), encoding="utf-8")
    args = ["evaluate", "--model", str(tiny_models["llama-tied"]), "--model", str(tiny_models["neox-untied"]),
            "--text", str(tmp_path / "de.txt"), "--text", str(tmp_path / "ja.txt"), "--json", str(tmp_path / "r.json")]
    assert cli_main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["model", "text", "bpb", "95%", "interval", "tokens", "bytes", "chunks", "vs", "first",
                                "model"] and len(table) == 5
    rows = json.loads((tmp_path / "r.json").read_text())
    assert len(rows) == 4 and all(r["bpb_lo"] <= r["bpb"] <= r["bpb_hi"] for r in rows)
    # the second model is compared with the first on the same chunks, in the table and in the JSON
    later = [r for r in rows if r["model"] == str(tiny_models["neox-untied"])]
    assert all(r["vs_first"]["verdict"] in ("tie", "lower", "higher") for r in later)
    assert all("vs_first" not in r for r in rows if r not in later)
    assert later[0]["vs_first"]["verdict"] in table[3]


@pytest.mark.parametrize("content, message", [(b"", "the file is empty"),
                                              (b"\xff\xfe oops", "invalid UTF-8 at byte 0")])
def test_cli_evaluate_bad_text(tiny_models, tmp_path, capsys, content, message):
    (tmp_path / "t.txt").write_bytes(content)
    assert cli_main(["evaluate", "--model", str(tiny_models["llama-tied"]), "--text", str(tmp_path / "t.txt")]) == 2
    assert message in capsys.readouterr().err


def test_cli_evaluate_missing_model(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("Hallo Welt", encoding="utf-8")
    assert cli_main(["evaluate", "--model", str(tmp_path / "nope"), "--text", str(tmp_path / "t.txt")]) == 2
    assert "nope" in capsys.readouterr().err


def test_cli_transfer_with_hypernet_writes_a_stock_model(tiny_models, tokenizers_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    from tokshift.cli import main as cli_main

    model, _ = load_model(str(tiny_models["llama-tied"]))
    hyper = hyper_for(model)
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    save_hypernet(hyper, tmp_path, base_fingerprint(model))
    args = ["transfer", "--model", str(tiny_models["llama-tied"]),
            "--tokenizer", str(tokenizers_dir / "ja-unigram-400"),
            "--method", "hypernet", "--hypernet", str(tmp_path), "--out", str(tmp_path / "t"),
            "--export", str(tmp_path / "m")]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["vocab_size"] == 400
    meta = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert meta["method"] == "hypernet" and set(meta["pieces"]) == {"truncated", "unknown", "mean_pieces"}
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    expected, _ = tokenizer_matrices(hyper, target, AutoTokenizer.from_pretrained(tiny_models["llama-tied"]))
    torch.testing.assert_close(exported.get_input_embeddings().weight, expected["input"])
    prompt = tok("日本語", return_tensors="pt")
    out = exported.generate(**prompt, max_new_tokens=3, do_sample=False)
    in_memory, _ = load_model(str(tiny_models["llama-tied"]))
    set_embeddings(in_memory, expected, target)
    assert torch.equal(out, in_memory.generate(**prompt, max_new_tokens=3, do_sample=False))
    # Without a hypernetwork folder, or with one for another base: one-line errors, exit 2.
    assert cli_main([*args[:7], "--out", str(tmp_path / "t2")]) == 2
    assert "needs a trained hypernetwork" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    neox, _ = load_model(str(tiny_models["neox-untied"]))
    save_hypernet(hyper_for(neox), other, base_fingerprint(neox))
    assert cli_main([*args[:7], "--hypernet", str(other), "--out", str(tmp_path / "t3")]) == 2
    assert "another base model" in capsys.readouterr().err


def test_generate_command_names_a_missing_index(tiny_models, tmp_path, capsys):
    from tokshift.cli import main

    assert main(["generate", "--model", str(tiny_models["llama-tied"]), "--vocab-index", str(tmp_path / "none"),
                 "Hallo"]) == 2
    assert "dvc repro vocab_index" in capsys.readouterr().err


def test_cli_export_puts_evaluation_metrics_in_the_model_card(ja_transfers, tmp_path):
    from tokshift.cli import main as cli_main

    metrics = tmp_path / "evaluate.json"
    metrics.write_text(json.dumps({"ja-unigram-400/fvt": {"ja": {"bpb": 1.23, "tokens": 10}}}))
    assert cli_main(["export", str(ja_transfers / "fvt"), "--out", str(tmp_path / "m"), "--metrics", str(metrics),
                     "--bf16"]) == 0
    header = yaml.safe_load((tmp_path / "m" / "README.md").read_text().split("---")[1])
    assert header["metrics"] == {"ja": {"bpb": 1.23, "tokens": 10}}
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "m").dtype == torch.bfloat16


def test_corrupt_inputs_are_one_line_naming_the_file(ja_transfers, tiny_models, tokenizers_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(ja_transfers / "fvt", broken)
    emb = broken / "embeddings.safetensors"
    with emb.open("r+b") as f:
        f.truncate(100)
    assert cli_main(["export", str(broken), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{emb}: not a readable safetensors file" in err
    garbage = tmp_path / "tok"
    shutil.copytree(tokenizers_dir / "ja-unigram-400", garbage)
    (garbage / "tokenizer.json").write_text('{"version": "1.0",\n', encoding="utf-8")
    assert cli_main(["transfer", "--model", str(tiny_models["llama-tied"]), "--tokenizer", str(garbage),
                     "--method", "fvt", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{garbage / 'tokenizer.json'}: corrupt tokenizer file" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "t").exists()


def test_cli_adapt_exports_and_bad_steps_are_one_line(ja_transfers, corpus_file, tmp_path, capsys):
    args = ["adapt", "--transfer", str(ja_transfers / "fvt"), "--corpus", str(corpus_file), "--out",
            str(tmp_path / "a"), "--checkpoints", str(tmp_path / "ckpt")]
    assert cli_main([*args, "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--steps must be > 0, got 0" in err and not (tmp_path / "a").exists()
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"adapt": {"batch_size": 2, "seq_len": 16, "eval_every": 2,
                                                "eval_max_bytes": 300, "max_train_bytes": 20000}}))
    assert cli_main([*args, "--steps", "2", "--params", str(params), "--export", str(tmp_path / "m")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["steps"] == 2 and out["valid_bpb"] < out["valid_bpb_start"]
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "m").config.vocab_size == len(
        AutoTokenizer.from_pretrained(tmp_path / "m"))


def test_cli_adapt_refuses_a_headless_encoder_in_one_line(tiny_e5, corpus_file, tmp_path, capsys):
    from tokshift.transfers.methods import transfer

    transfer(tiny_e5["folder"], tiny_e5["target"], "fvt", tmp_path / "t")
    assert cli_main(["adapt", "--transfer", str(tmp_path / "t"), "--corpus", str(corpus_file), "--out",
                     str(tmp_path / "a"), "--checkpoints", str(tmp_path / "ckpt"), "--steps", "2"]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if "BertModel has no language-model head" in x]
    assert len(line) == 1 and "encoder_hypernet" in line[0] and "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_cli_mixture_prints_weights_and_refuses_unigram(corpus_file, tokenizers_dir, tmp_path, capsys):
    args = ["mixture", "--corpus", str(corpus_file), "--categories", "de", "ru", "ja", "--merges", "60",
            "--sample-bytes", "20000"]
    assert cli_main([*args, str(tokenizers_dir / "de-bpe-400"), "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[1].split()[0] == "de"  # the heaviest category comes first
    assert "converged True" in out.err
    assert json.loads((tmp_path / "m.json").read_text())["de-bpe-400"]["merges"] == 60
    assert cli_main([*args, str(tokenizers_dir / "ja-unigram-400")]) == 2
    assert "a Unigram tokenizer has no merge list" in capsys.readouterr().err


def test_cli_sql_mixture_views(stats, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out, _, _ = stats
    mixture = tmp_path / "mixture"
    mixture.mkdir()
    pq.write_table(pa.table({"tokenizer": ["t", "t"], "category": ["de", "ja"], "weight": [0.75, 0.25],
                             "tee": [0.5, 0.5], "truth": [1.0, 0.0]}), mixture / "mixture.parquet")
    assert cli_main(["sql", "--stats", str(out), "--mixture", str(mixture), "--format", "csv",
                     "SELECT category, weight FROM mixture ORDER BY weight DESC"]) == 0
    assert capsys.readouterr().out.splitlines() == ['"category","weight"', '"de",0.75', '"ja",0.25']
    # without the validation file there is no such view
    assert cli_main(["sql", "--stats", str(out), "--mixture", str(mixture), "SELECT * FROM mixture_validation"]) == 2


def test_cli_evaluate_byte_level_is_at_or_below_token_level(tiny_models, tmp_path, capsys):
    (tmp_path / "de.txt").write_text(make_text("de", 6, 1), encoding="utf-8")
    args = ["evaluate", "--byte-level", "--model", str(tiny_models["llama-tied"]), "--model",
            str(tiny_models["neox-untied"]), "--text", str(tmp_path / "de.txt"), "--json", str(tmp_path / "r.json")]
    assert cli_main(args) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:6] == ["model", "text", "bpb", "95%", "interval",
                                                                   "token_bpb"]
    rows = json.loads((tmp_path / "r.json").read_text())
    assert len(rows) == 2 and all(0 < r["bpb"] <= r["token_bpb"] + 1e-6 for r in rows)
    plain = cli_main(["evaluate", "--model", str(tiny_models["llama-tied"]), "--text", str(tmp_path / "de.txt")])
    token_bpb = float(capsys.readouterr().out.splitlines()[1].split()[2])
    assert plain == 0 and token_bpb == pytest.approx(rows[0]["token_bpb"], abs=2e-4)  # the same windows


def test_cli_generate_byte_level(tiny_models, capsys):
    from tokshift.cli import main

    assert main(["generate", "--byte-level", "--model", str(tiny_models["llama-tied"]), "--max-new-bytes", "5",
                 "--max-new-tokens", "2", "Hallo We"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Hallo We") and "token-level greedy" in err
    assert main(["generate", "--byte-level", "--model", str(tiny_models["llama-tied"]), ""]) == 2
    assert "prompt is empty" in capsys.readouterr().err


def test_cli_byte_level_refuses_a_unigram_model(ja_transfers, tmp_path, capsys):
    from tokshift.cli import main
    from tokshift.transfers.export import export

    export(ja_transfers / "fvt", tmp_path / "ja")
    (tmp_path / "t.txt").write_text("テキスト", encoding="utf-8")
    assert main(["evaluate", "--byte-level", "--model", str(tmp_path / "ja"), "--text", str(tmp_path / "t.txt")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # (after the weight-loading progress bar)
    assert last.startswith("tokshift evaluate: ") and "a Unigram tokenizer; byte-level probabilities need" in last
