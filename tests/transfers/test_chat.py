"""Chat models stay chat models: an export carries the base's chat template and role tokens, its config and
generation_config name the exported tokenizer's ids, and a target that cannot write the template is refused."""

from __future__ import annotations

import shutil

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from tokshift.tokenization.chat import ChatTemplateError, carry_chat, template_tokens
from tokshift.transfers.export import export
from tokshift.transfers.methods import transfer

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
TURN = [{"role": "user", "content": "und die"}]


@pytest.fixture(scope="module")
def chat_base(tiny_models, tmp_path_factory):
    """The tiny Llama as SmolLM2-Instruct ships: ChatML template, bos <|im_start|>, eos = pad = <|im_end|>."""
    out = tmp_path_factory.mktemp("chat") / "base"
    shutil.copytree(tiny_models["llama-tied"], out)
    tok = AutoTokenizer.from_pretrained(out)
    tok.chat_template, tok.bos_token, tok.eos_token, tok.pad_token = CHATML, "<|im_start|>", "<|im_end|>", "<|im_end|>"
    tok.save_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    for key, value in ids.items():
        setattr(model.config, key, value)
    model.generation_config = GenerationConfig(**ids)
    model.save_pretrained(out)
    return out


def test_the_template_names_its_special_tokens_literally_and_by_role(chat_base):
    tok = AutoTokenizer.from_pretrained(chat_base)
    assert template_tokens(tok) == ["<|im_start|>", "<|im_end|>"]
    tok.chat_template = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}"
    assert template_tokens(tok) == ["<|im_start|>", "<|im_end|>"]  # the role tokens, through their variables
    tok.chat_template = None
    assert template_tokens(tok) == []


def test_export_carries_the_template_and_the_ids_agree_everywhere(chat_base, tokenizers_dir, tmp_path):
    transfer(chat_base, tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "t")
    out = export(tmp_path / "t", tmp_path / "full")
    tok, model = AutoTokenizer.from_pretrained(out), AutoModelForCausalLM.from_pretrained(out)
    prompt = tok.apply_chat_template(TURN, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nund die<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.apply_chat_template(TURN, add_generation_prompt=True)
    ids = ids["input_ids"] if isinstance(ids, dict) else ids
    assert tok.decode(ids) == prompt
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<|im_start|>", "<|im_end|>", "<|im_end|>")
    for cfg in (model.config, model.generation_config):  # what generate() stops at is the end of a turn
        assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (tok.bos_token_id, tok.eos_token_id,
                                                                          tok.pad_token_id)
    assert tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):  # string -> id -> string
        ids = tok.encode(token, add_special_tokens=False)
        assert len(ids) == 1 and tok.convert_ids_to_tokens(ids[0]) == token and tok.decode(ids) == token


def test_a_target_without_the_template_tokens_is_refused_and_writes_nothing(chat_base, corpus_file, tmp_path):
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer

    train_tokenizer(corpus_file, TokenizerConfig(model="bpe", vocab_size=300, langs=["de"],
                                                 special_tokens=["<|endoftext|>"]), tmp_path / "plain")
    transfer(chat_base, tmp_path / "plain", "fvt", tmp_path / "t")
    with pytest.raises(ChatTemplateError, match=r"writes \['<\|im_start\|>', '<\|im_end\|>'\].*--no-chat-template"):
        export(tmp_path / "t", tmp_path / "full")
    assert not (tmp_path / "full").exists()
    out = export(tmp_path / "t", tmp_path / "full", chat_template=False)
    tok, model = AutoTokenizer.from_pretrained(out), AutoModelForCausalLM.from_pretrained(out)
    assert not tok.chat_template and tok.eos_token == "<|endoftext|>"  # the target keeps its own roles
    assert model.generation_config.eos_token_id == model.config.eos_token_id == tok.eos_token_id


def test_carry_leaves_the_target_unchanged_when_it_refuses(chat_base, tokenizers_dir):
    base = AutoTokenizer.from_pretrained(chat_base)
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "de-bpe-400")
    base.chat_template = CHATML.replace("<|im_end|>", "<end_of_turn>")
    base.add_special_tokens({"additional_special_tokens": ["<end_of_turn>"]})
    with pytest.raises(ChatTemplateError, match="de-bpe-400.*<end_of_turn>"):
        carry_chat(target, base, "de-bpe-400")
    assert target.eos_token == "<|endoftext|>" and not target.chat_template


def test_extra_stop_tokens_of_the_base_follow_by_string(chat_base, tokenizers_dir, tmp_path):
    """A base that stops at <|endoftext|> and at the end of a turn (as Gemma 3 and Llama 3 ship) keeps both."""
    base = tmp_path / "base"
    shutil.copytree(chat_base, base)
    model = AutoModelForCausalLM.from_pretrained(base)
    tok = AutoTokenizer.from_pretrained(base)
    model.generation_config.eos_token_id = [tok.eos_token_id, tok.convert_tokens_to_ids("<|endoftext|>")]
    model.save_pretrained(base)
    transfer(base, tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "t")
    out = export(tmp_path / "t", tmp_path / "full")
    target = AutoTokenizer.from_pretrained(out)
    assert AutoModelForCausalLM.from_pretrained(out).generation_config.eos_token_id == [
        target.convert_tokens_to_ids("<|im_end|>"), target.convert_tokens_to_ids("<|endoftext|>")]


def english_text() -> list[str]:
    """About 1 MB of English from the standard library's own documentation (installed everywhere, no network)."""
    import importlib
    import pydoc

    names = ["argparse", "collections", "functools", "itertools", "json", "logging", "os", "pathlib", "re",
             "subprocess", "typing", "unittest", "email", "http.client", "asyncio", "dataclasses", "inspect",
             "shutil", "tarfile", "zipfile", "random", "statistics", "string", "textwrap", "threading"]
    return [pydoc.render_doc(importlib.import_module(n), renderer=pydoc.plaintext) for n in names]


@pytest.mark.slow
def test_an_exported_smollm2_transfer_answers_a_chat_turn_and_stops_at_the_end_of_it(tmp_path):
    """The real SmolLM2-135M-Instruct (fetched), moved by FVT onto an 8k English BPE that has its special tokens:
    the export builds SmolLM2's ChatML prompt and its greedy answer ends with <|im_end|>, not at the length cap."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tokshift.model.base import BaseModelConfig, prepare_base_model

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    tok.train_from_iterator(english_text(), trainers.BpeTrainer(
        vocab_size=8000, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                            eos_token="<|endoftext|>").save_pretrained(tmp_path / "en-bpe-8k")
    prepare_base_model(BaseModelConfig(raw_dir=str(tmp_path / "raw")), tmp_path / "base")
    transfer(tmp_path / "base", tmp_path / "en-bpe-8k", "fvt", tmp_path / "t")
    out = export(tmp_path / "t", tmp_path / "full")
    tok, model = AutoTokenizer.from_pretrained(out), AutoModelForCausalLM.from_pretrained(out)
    turn = [{"role": "user", "content": "What is the capital of France?"}]
    assert tok.apply_chat_template(turn, tokenize=False, add_generation_prompt=True) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    prompt = tok.apply_chat_template(turn, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    new = model.generate(**prompt, max_new_tokens=80, do_sample=False)[0, prompt["input_ids"].shape[1]:]
    assert len(new) < 80 and new[-1] == tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert "capital" in tok.decode(new[:-1])  # an answer to the question, then the end of the turn
