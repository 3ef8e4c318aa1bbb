"""The family matrix: every family people bring moves onto a new tokenizer (FVT, and a hypernetwork trained for it),
exports, loads with stock transformers in a fresh process and generates what the in-memory transfer generates;
chat templates and special tokens survive; what tokshift cannot move is refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import AutoTokenizer, GenerationConfig

from tests.transfers.families import FAMILIES, build_base, target_config
from tokshift.model.base import load_model
from tokshift.transfers.export import export
from tokshift.transfers.folder import apply_transfer
from tokshift.transfers.methods import transfer

METHODS = ("fvt", "hypernet")
PROMPT = "ein der die und"
NEW_TOKENS = 6
HYPERNET = {"steps": 2, "batch_size": 2, "seq_len": 16, "langs": ["de"], "lr": 0.01, "warmup_steps": 1,
            "eval_tokenizers": [], "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
            "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}}
# The fresh process: stock classes only, greedy ids per exported folder.
FRESH = textwrap.dedent("""
    import json, sys
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out = {}
    prompt, new_tokens = json.loads(sys.argv[2]), int(sys.argv[3])
    for folder in json.loads(sys.argv[1]):
        model, tok = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
        ids = tok(prompt, return_tensors="pt")
        with torch.no_grad():
            out[folder] = model.generate(**ids, max_new_tokens=new_tokens, do_sample=False)[0].tolist()
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def matrix(corpus_file, tmp_path_factory):
    """{(family, method): exported folder or the exception that stopped it}, plus the bases and transfer folders."""
    from tokshift.core.params import from_dict
    from tokshift.data.corpus import read_corpus
    from tokshift.hypernet.config import TrainConfig
    from tokshift.hypernet.train import train_hypernet
    from tokshift.tokenization.training import train_tokenizer

    root = tmp_path_factory.mktemp("families")
    texts = read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()
    cells = {}
    for family in FAMILIES:
        home = root / family.name
        try:
            build_base(family, texts, home / "base")
            train_tokenizer(corpus_file, target_config(family), home / "target")
            train_hypernet(home / "base", corpus_file, home / "hypernet", home / "ckpt",
                           from_dict(TrainConfig, HYPERNET, "hypernet"))
        except Exception as err:  # noqa: BLE001 - reported by each of the family's cells
            cells.update({(family.name, m): err for m in METHODS})
            continue
        for method in METHODS:
            try:
                transfer(home / "base", home / "target", method, home / method, hypernet_dir=home / "hypernet")
                cells[family.name, method] = export(home / method, home / f"{method}-export")
            except Exception as err:  # noqa: BLE001
                cells[family.name, method] = err
    folders = [str(v) for v in cells.values() if not isinstance(v, Exception)]
    proc = subprocess.run([sys.executable, "-c", FRESH, json.dumps(folders), json.dumps(PROMPT), str(NEW_TOKENS)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, cells, json.loads(proc.stdout.strip().splitlines()[-1])


def cell(matrix, family: str, method: str):
    found = matrix[1][family, method]
    if isinstance(found, Exception):
        raise found
    return found


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("family", [f.name for f in FAMILIES])
def test_a_family_transfers_exports_and_generates_the_same_in_a_fresh_process(matrix, family, method):
    out = cell(matrix, family, method)
    root, _, fresh = matrix
    model, _ = load_model(str(root / family / "base"))
    tok = apply_transfer(model, root / family / method)
    assert model.get_input_embeddings().weight.shape[0] == len(tok)  # padding rows do not survive a new vocabulary
    model.generation_config = GenerationConfig.from_pretrained(out)
    ids = tok(PROMPT, return_tensors="pt")
    with torch.no_grad():
        in_memory = model.generate(**ids, max_new_tokens=NEW_TOKENS, do_sample=False)[0].tolist()
    assert fresh[str(out)] == in_memory


@pytest.mark.parametrize("family", [f for f in FAMILIES])
def test_special_tokens_and_the_chat_template_survive_the_export(matrix, family):
    out = cell(matrix, family.name, "fvt")
    tok = AutoTokenizer.from_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    generation = json.loads((out / "generation_config.json").read_text())
    for token in family.specials:  # string -> id -> string
        ids = tok.encode(token, add_special_tokens=False)
        assert len(ids) == 1 and tok.convert_ids_to_tokens(ids[0]) == token and tok.decode(ids) == token
    for role in ("bos", "eos", "pad"):
        expected = tok.convert_tokens_to_ids(getattr(family, role)) if getattr(family, role) else None
        assert getattr(tok, f"{role}_token_id") == expected
        assert config.get(f"{role}_token_id") == expected
    stops = generation["eos_token_id"] if isinstance(generation["eos_token_id"], list) else [generation["eos_token_id"]]
    assert stops == [tok.eos_token_id, *tok.convert_tokens_to_ids(family.stop)]
    if family.chat_template:
        prompt = tok.apply_chat_template([{"role": "user", "content": "ein der"}], tokenize=False,
                                         add_generation_prompt=True)
        base = AutoTokenizer.from_pretrained(matrix[0] / family.name / "base")
        assert prompt == base.apply_chat_template([{"role": "user", "content": "ein der"}], tokenize=False,
                                                  add_generation_prompt=True)
    else:
        assert not tok.chat_template


@pytest.mark.parametrize(("config", "refusal"), [
    ("T5Config", "T5ForConditionalGeneration is an encoder-decoder model; tokshift moves decoder-only causal LMs"),
    ("Gemma3Config", "Gemma3ForConditionalGeneration is a vision-language model; .*save its language model alone"),
])
def test_a_family_tokshift_cannot_move_is_refused_in_one_line(tokenizers_dir, tmp_path, config, refusal):
    import transformers

    from tokshift.model.base import ModelLoadError

    cfg = getattr(transformers, config)()
    cfg.architectures = [refusal.split()[0]]
    cfg.save_pretrained(tmp_path / "model")
    with pytest.raises(ModelLoadError, match=refusal) as err:
        transfer(tmp_path / "model", tokenizers_dir / "de-bpe-400", "fvt", tmp_path / "t")
    assert "\n" not in str(err.value) and not (tmp_path / "t").exists()
