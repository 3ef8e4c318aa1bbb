"""Turn a transfer folder into a stock Hugging Face model: the base model with new embeddings and tokenizer.

`export` writes a full folder with `save_pretrained` (safetensors), the target tokenizer and a
model card whose YAML header carries `base_model`, `method` and `target_tokenizer`; a sentence-embedding
encoder keeps its pooling files (model/pooling.py). A chat model stays one: the target tokenizer takes the
base's chat template and role tokens (tokenization/chat.py), and `config.json` / `generation_config.json`
name the exported tokenizer's bos/eos/pad ids (a base generation_config's extra stop tokens, such as an
end-of-turn token, are kept by string). Leaves out: pushing to a hub.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import yaml
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.atomic import atomic_dir
from tokshift.model.base import is_headless_encoder, is_masked_lm, load_model
from tokshift.model.embeddings import set_token_ids
from tokshift.model.pooling import POOLING_CONFIG, read_pooling, write_pooling
from tokshift.tokenization.chat import carry_chat
from tokshift.transfers.folder import apply_transfer, read_transfer


def auto_class(config) -> str:
    """The stock Auto class that loads a model of this config ('AutoModelForCausalLM', 'AutoModel', ...)."""
    if is_masked_lm(config):
        return "AutoModelForMaskedLM"
    return "AutoModel" if is_headless_encoder(config) else "AutoModelForCausalLM"


def model_card(meta: dict, metrics: dict | None = None, auto: str = "AutoModelForCausalLM") -> str:
    """README.md with the YAML header a model hub reads."""
    header = {"base_model": meta["base_model"], "library_name": "transformers", "method": meta["method"],
              "target_tokenizer": meta["target_tokenizer"], "language": meta.get("languages", []),
              "tags": ["tokshift", "tokenizer-transfer"], "metrics": metrics or {}}
    if "adapt" in meta:  # continued training: from which init, how long, what trained
        header["adapt"] = {k: meta["adapt"][k] for k in ("init", "steps", "tokens", "train") if k in meta["adapt"]}
    body = (f"# {Path(meta['target_tokenizer']).name} ({meta['method']})\n\n"
            f"`{meta['base_model']}` moved onto the tokenizer `{meta['target_tokenizer']}` by tokshift with the "
            f"`{meta['method']}` embedding initialisation. Load it with "
            f"`{auto}.from_pretrained` and `AutoTokenizer.from_pretrained`.\n")
    return f"---\n{yaml.safe_dump(header, sort_keys=False, allow_unicode=True)}---\n\n{body}"


def stop_ids(ids, base: PreTrainedTokenizerBase, target: PreTrainedTokenizerBase) -> list[int]:
    """Base token ids (an int or a list) as target ids of the same strings; tokens the target lacks are dropped."""
    vocab = target.get_vocab()
    tokens = base.convert_ids_to_tokens([ids] if isinstance(ids, int) else list(ids or []))
    return [vocab[t] for t in tokens if t in vocab]


def sync_token_ids(model: PreTrainedModel, target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase,
                   base_generation: GenerationConfig | None) -> None:
    """config.json and generation_config.json name the target tokenizer's bos/eos/pad/unk ids; the base's
    further generation stop tokens (e.g. <end_of_turn> beside <eos>) follow by string."""
    set_token_ids(model, target)
    if base_generation is not None and model.generation_config is not None:
        extra = [i for i in stop_ids(base_generation.eos_token_id, base, target) if i != target.eos_token_id]
        if extra and target.eos_token_id is not None:
            model.generation_config.eos_token_id = [target.eos_token_id, *dict.fromkeys(extra)]


def export(transfer_dir: str | Path, out_dir: str | Path, base_model: str | Path | None = None,
           dtype: torch.dtype = torch.float32, metrics: dict | None = None, chat_template: bool = True) -> Path:
    """Write a stock model folder for a transfer folder (base model from transfer.json unless given).

    `metrics` (e.g. this model's entry of metrics/evaluate.json) go into the model card header. The base's chat
    template goes onto the target tokenizer (refused when the target lacks its special tokens) unless
    `chat_template` is false.
    """
    transfer_dir = Path(transfer_dir)
    meta, _ = read_transfer(transfer_dir)  # first: a damaged folder is named before the model loads
    base_dir = Path(base_model or meta["base_model"])
    model, base_tok = load_model(str(base_dir))
    base_generation = copy.deepcopy(getattr(model, "generation_config", None))
    tokenizer = apply_transfer(model, transfer_dir)
    # before anything is written: a template the target cannot write is refused here
    carry_chat(tokenizer, base_tok, f"{transfer_dir} (its target tokenizer)", template=chat_template)
    sync_token_ids(model, tokenizer, base_tok, base_generation)
    with atomic_dir(out_dir) as tmp:
        model.to(dtype).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if (base_dir / POOLING_CONFIG).exists():
            write_pooling(tmp, *read_pooling(base_dir))
        (tmp / "README.md").write_text(model_card(meta, metrics, auto_class(model.config)), encoding="utf-8")
    return Path(out_dir)
