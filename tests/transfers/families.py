"""Tiny random-weight models of the families people bring, each with the kind of tokenizer it ships.

Built from configs (no download): tokenizers are trained on the test corpus and shaped like the family's
(byte-level BPE with or without a BOS, SentencePiece with byte fallback behind a Metaspace pre-tokenizer or
behind normalizers), with the family's special tokens and chat template, tied or untied, and with padding
rows past the tokenizer's length where the family ships them (Qwen, Phi-3, GPT-NeoX, OLMo 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast

CHATML = ("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{'<|im_start|>assistant\n'}}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for m in messages %}{{'<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + "
          "m['content'] + '<|eot_id|>'}}{% endfor %}{% if add_generation_prompt %}"
          "{{'<|start_header_id|>assistant<|end_header_id|>\n\n'}}{% endif %}")
GEMMA = ("{{ bos_token }}{% for m in messages %}{{'<start_of_turn>' + m['role'] + '\n' + m['content'] + "
         "'<end_of_turn>\n'}}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")
PHI3 = ("{% for m in messages %}{{'<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n'}}{% endfor %}"
        "{% if add_generation_prompt %}{{'<|assistant|>\n'}}{% endif %}")
SIZES = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}


@dataclass
class Family:
    name: str
    model_class: str
    """transformers class, with `config_class` its config."""
    config_class: str
    tokenizer: str
    """bytelevel, sp-metaspace (Mistral), sp-normalizers (Llama 2 / Phi-3: Prepend + Replace), sp-gemma (Replace)."""
    specials: list[str]
    bos: str | None
    eos: str
    add_bos: bool = False
    unk: str | None = None
    pad: str | None = None
    tied: bool = True
    padding_rows: int = 0
    chat_template: str | None = None
    stop: list[str] = field(default_factory=list)
    """Extra generation stop tokens (generation_config.eos_token_id besides eos)."""
    extra: dict = field(default_factory=dict)
    """Config fields beyond SIZES."""

    @property
    def sentencepiece(self) -> bool:
        return self.tokenizer.startswith("sp-")


KV = {"num_key_value_heads": 1}
FAMILIES = [
    Family("llama", "LlamaForCausalLM", "LlamaConfig", "bytelevel",
           ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
           "<|begin_of_text|>", "<|end_of_text|>", add_bos=True, chat_template=LLAMA3, stop=["<|eot_id|>"], extra=KV),
    Family("mistral", "MistralForCausalLM", "MistralConfig", "sp-metaspace", ["<unk>", "<s>", "</s>"], "<s>", "</s>",
           add_bos=True, unk="<unk>", tied=False, extra={**KV, "sliding_window": 8}),
    Family("qwen2", "Qwen2ForCausalLM", "Qwen2Config", "bytelevel", ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
           None, "<|im_end|>", pad="<|endoftext|>", padding_rows=37, chat_template=CHATML,
           stop=["<|endoftext|>"], extra=KV),
    Family("qwen3", "Qwen3ForCausalLM", "Qwen3Config", "bytelevel", ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
           None, "<|im_end|>", pad="<|endoftext|>", padding_rows=21, chat_template=CHATML,
           extra={**KV, "head_dim": 16}),
    Family("gemma2", "Gemma2ForCausalLM", "Gemma2Config", "sp-gemma",
           ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"], "<bos>", "<eos>", add_bos=True,
           unk="<unk>", pad="<pad>", chat_template=GEMMA, stop=["<end_of_turn>"], extra={**KV, "head_dim": 16}),
    Family("gemma3", "Gemma3ForCausalLM", "Gemma3TextConfig", "sp-gemma",
           ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"], "<bos>", "<eos>", add_bos=True,
           unk="<unk>", pad="<pad>", chat_template=GEMMA, stop=["<end_of_turn>"],
           extra={**KV, "head_dim": 16, "sliding_window": 8}),
    Family("phi3", "Phi3ForCausalLM", "Phi3Config", "sp-normalizers",
           ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"], "<s>", "<|endoftext|>",
           unk="<unk>", pad="<|endoftext|>", tied=False, padding_rows=53, chat_template=PHI3, stop=["<|end|>"],
           extra={"num_key_value_heads": 2}),
    Family("gpt2", "GPT2LMHeadModel", "GPT2Config", "bytelevel", ["<|endoftext|>"], "<|endoftext|>",
           "<|endoftext|>", extra={"n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 64}),
    Family("gpt-neox", "GPTNeoXForCausalLM", "GPTNeoXConfig", "bytelevel", ["<|endoftext|>", "<|padding|>"],
           "<|endoftext|>", "<|endoftext|>", pad="<|padding|>", tied=False, padding_rows=27),
    Family("olmo2", "Olmo2ForCausalLM", "Olmo2Config", "bytelevel", ["<|endoftext|>", "<|pad|>"], "<|endoftext|>",
           "<|endoftext|>", pad="<|pad|>", tied=False, padding_rows=44, extra=KV),
]


def normalizer_and_pre(kind: str):
    """(normalizer, pre-tokenizer, decoder) of a SentencePiece tokenizer as each family's tokenizer.json has them."""
    bytes_out = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if kind == "sp-metaspace":
        return None, pre_tokenizers.Metaspace(prepend_scheme="first"), decoders.Sequence(
            [*bytes_out, decoders.Strip(" ", 1, 0)])
    if kind == "sp-normalizers":
        return normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]), None, \
            decoders.Sequence([*bytes_out, decoders.Strip(" ", 1, 0)])
    return normalizers.Replace(" ", "▁"), None, decoders.Sequence(bytes_out)


def base_tokenizer(family: Family, texts: list[str], size: int = 500) -> PreTrainedTokenizerFast:
    """A tokenizer of the family's kind, trained on `texts`, with its special tokens first."""
    if family.sentencepiece:
        learn = Tokenizer(models.Unigram())
        learn.pre_tokenizer = pre_tokenizers.Metaspace()
        learn.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=size, show_progress=False))
        learnt = json.loads(learn.to_str())["model"]["vocab"]
        pieces = [(t, 0.0) for t in family.specials] + [(f"<0x{b:02X}>", -30.0) for b in range(256)]
        pieces += [(p, s) for p, s in learnt if not (p.startswith("<") and p.endswith(">"))]
        tok = Tokenizer(models.Unigram(pieces, unk_id=family.specials.index(family.unk), byte_fallback=True))
        tok.normalizer, tok.pre_tokenizer, tok.decoder = normalizer_and_pre(family.tokenizer)
        tok.add_special_tokens(family.specials)
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=size, special_tokens=family.specials,
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                           show_progress=False))
    if family.add_bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{family.bos} $A", pair=f"{family.bos} $A $B",
                                                           special_tokens=[(family.bos, tok.token_to_id(family.bos))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=family.bos, eos_token=family.eos,
                                   unk_token=family.unk, pad_token=family.pad)
    fast.chat_template = family.chat_template
    return fast


def build_base(family: Family, texts: list[str], out: Path) -> Path:
    """Save a seeded tiny model of `family` and its tokenizer to `out`."""
    tok = base_tokenizer(family, texts)
    ids = {f"{role}_token_id": tok.convert_tokens_to_ids(t) for role, t in
           (("bos", family.bos), ("eos", family.eos), ("pad", family.pad)) if t is not None}
    sizes = {} if family.name == "gpt2" else SIZES
    config = getattr(transformers, family.config_class)(vocab_size=len(tok) + family.padding_rows,
                                                        tie_word_embeddings=family.tied, **sizes, **family.extra,
                                                        **ids)
    torch.manual_seed(0)
    model = getattr(transformers, family.model_class)(config).eval()
    stops = [ids["eos_token_id"], *tok.convert_tokens_to_ids(family.stop)]
    model.generation_config = GenerationConfig(**{**ids, "eos_token_id": stops if family.stop else stops[0]})
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def target_config(family: Family):
    """The target tokenizer a user of this family trains with tokshift: its kind and its special tokens."""
    from tokshift.tokenization.training import TokenizerConfig

    kind = {"model": "unigram", "byte_level": False, "unk_token": family.unk} if family.sentencepiece else \
        {"model": "bpe"}
    return TokenizerConfig(vocab_size=300 if not family.sentencepiece else 200, langs=["de"],
                           special_tokens=family.specials, bos_token=family.bos, eos_token=family.eos,
                           pad_token=family.pad, **kind)
